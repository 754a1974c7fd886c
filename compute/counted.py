"""Counts over the whole store, kept for a short while in Django's cache (docs/compute.md, "Speed").

Counting tasks by scope and status, the anomalies and the throughput read every task or result of their kind: the
store has no index to start from and the portal may add none. At a million tasks that takes seconds, too long for a
page an operator reloads. So each such answer is kept for ``PORTAL_COMPUTE_COUNTS_SECONDS`` (150 by default: a
little longer than the sampler's 2 minutes) under a key naming the question and its parameters, and always shown with
the moment it was counted ("as of ..."): a count two minutes old says so, and the page offers to count again. The
fleet's sampler (compute/history.py) counts every few minutes and leaves its answers here, so a page seldom pays for
the count itself.

The cache is shared by every process when it is Redis (the default); with ``locmem://`` each process keeps its own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.core.cache import cache

T = TypeVar("T")
PREFIX = "alchemiscale-portal:compute:"


@dataclasses.dataclass(frozen=True)
class Counted(Generic[T]):
    value: T
    #: when the store was read for ``value``
    as_of: dt.datetime
    #: True when it was read for this request (not taken from the cache)
    fresh: bool

    def age(self, at: dt.datetime) -> dt.timedelta:
        return at - self.as_of


def ttl() -> int:
    return int(getattr(settings, "COMPUTE_COUNTS_SECONDS", 150))


#: bumped by :func:`forget`: every key names the generation it was kept in, so one write drops them all
GENERATION_KEY = PREFIX + "generation"


def key(question: str, params: dict[str, Any]) -> str:
    """The cache key of ``question`` asked with ``params`` (any JSON-able values, in any order)."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return f"{PREFIX}{cache.get(GENERATION_KEY, 0)}:{question}:{digest}"


def forget() -> None:
    """Drop every kept count: the portal itself just changed the fleet (compute/actions.py)."""
    try:
        cache.set(GENERATION_KEY, int(cache.get(GENERATION_KEY, 0)) + 1, timeout=None)
    except Exception:  # the cache down keeps nothing to forget
        pass


def counted(
    question: str,
    params: dict[str, Any],
    count: Callable[[], T],
    *,
    recount: bool = False,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> Counted[T]:
    """The kept answer to ``question`` while it is younger than :func:`ttl`, else ``count()`` now (and kept).
    ``recount`` asks the store whatever is kept. A cache that cannot be reached only costs the time of counting."""
    try:
        # named before counting: a count that a write (forget) overtakes is kept where nobody looks
        cache_key = key(question, params)
        kept = None if recount else cache.get(cache_key)
    except Exception:  # the cache down must not take the page with it: count instead
        cache_key, kept = None, None
    if kept is not None:
        return Counted(kept["value"], kept["as_of"], fresh=False)
    return keep(question, params, count(), now(), cache_key=cache_key)


def keep(
    question: str, params: dict[str, Any], value: T, as_of: dt.datetime, *, cache_key: str | None = None
) -> Counted[T]:
    """Keep ``value`` as the answer to ``question`` counted at ``as_of``."""
    try:
        cache.set(cache_key or key(question, params), {"value": value, "as_of": as_of}, timeout=ttl())
    except Exception:  # a cache that cannot be written only means the next page counts again
        pass
    return Counted(value, as_of, fresh=True)
