"""The Neo4j services operations act on; ``get_target()`` builds the one the settings name."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ..target_names import DOCKER_TARGET, LOCAL_TARGET
from .base import AdminResult, Connection, Target, TargetError
from .docker import DockerTarget
from .local import LocalTarget
from .reported import ReportedTarget
from .reports import via_worker

__all__ = [
    "AdminResult",
    "Connection",
    "Target",
    "TargetError",
    "LocalTarget",
    "TARGETS",
    "get_target",
    "default_connection",
    "via_worker",
]

#: name -> class, for every name in operations/target_names.py; a new target is added to both (base.py's docstring)
TARGETS: dict[str, type[Target]] = {LOCAL_TARGET: LocalTarget, DOCKER_TARGET: DockerTarget}


def default_connection() -> Connection:
    return Connection(
        url=settings.NEO4J_URL, user=settings.NEO4J_USER, password=settings.NEO4J_PASS, database=settings.NEO4J_DBNAME
    )


def get_target(name: str | None = None) -> Target:
    """The target called ``name`` (default: PORTAL_OPERATIONS_TARGET), configured from the settings."""
    name = name or settings.OPERATIONS_TARGET
    if via_worker():  # a web process without access: its worker reports (operations/runs/worker_calls.py)
        return ReportedTarget(_build(name))  # type: ignore[return-value]
    return _build(name)


def _build(name: str) -> Target:
    if name not in TARGETS:
        raise ImproperlyConfigured(f"operations target {name!r} is not available; known: {', '.join(sorted(TARGETS))}")
    common: dict[str, Any] = dict(
        connection=default_connection(), backup_dir=settings.BACKUP_DIR, start_timeout=settings.NEO4J_START_TIMEOUT
    )
    if name == LOCAL_TARGET:
        return LocalTarget.from_settings(**common)
    if name == DOCKER_TARGET:
        return DockerTarget.from_settings(**common)
    return TARGETS[name](**common)
