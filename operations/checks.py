"""One shape for every status line, and the registry the status page reads.

A :class:`Check` is a name, ok or not, and the words that say why. Each app registers the checks it owns in its
``AppConfig.ready()`` (:func:`register`); the status page (operations/glance) and the alerts sweep call
:func:`run_all` and import none of them. The two checks of what everything stands on (Neo4j, Redis) live here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from django.conf import settings

from identities import store
from security.masking import mask_url

from . import redis_client


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclasses.dataclass(frozen=True)
class Registered:
    name: str
    function: Callable[[], Check | list[Check]]
    #: where on the status page: lower first
    order: int
    #: "components" (is everything reachable) or "unattended" (what runs with nobody watching)
    section: str


_REGISTRY: dict[str, Registered] = {}


def register(
    name: str, function: Callable[[], Check | list[Check]], *, order: int, section: str = "components"
) -> None:
    """Add (or replace, by name) a check; registering the same name twice keeps one."""
    _REGISTRY[name] = Registered(name, function, order, section)


def run_all(section: str = "components") -> list[Check]:
    """Every registered check of ``section``, in order; a check that raises is a red line saying why."""
    results: list[Check] = []
    for entry in sorted((r for r in _REGISTRY.values() if r.section == section), key=lambda r: (r.order, r.name)):
        try:
            found = entry.function()
        except Exception as exc:  # a broken check must not hide the others
            found = Check(entry.name, False, f"the check itself failed: {exc.__class__.__name__}: {exc}")
        results.extend(found if isinstance(found, list) else [found])
    return results


def check_neo4j() -> Check:
    try:
        version, edition = store.server_version()
        nodes = store.node_count()
    except Exception as exc:  # any failure to talk to the store is the reason shown
        return Check(
            "Neo4j", False, mask_url(f"{mask_url(settings.NEO4J_URL)} not reachable: {exc.__class__.__name__}: {exc}")
        )
    return Check(
        "Neo4j",
        True,
        f"Neo4j {version} ({edition}) at {mask_url(settings.NEO4J_URL)}, database "
        f"{settings.NEO4J_DBNAME!r}, {nodes} nodes",
    )


def check_redis() -> Check:
    try:
        info = redis_client.client().info("server")
    except Exception as exc:
        return Check("Redis", False, mask_url(f"{mask_url(settings.REDIS_URL)} not reachable: {exc}"))
    return Check("Redis", True, f"Redis {info.get('redis_version')} at {mask_url(settings.REDIS_URL)}")
