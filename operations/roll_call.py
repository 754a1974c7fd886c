"""The workers' roll call: each portal worker's node name in Redis while it runs, so that asking the workers over
the broker waits for as many answers as there are workers instead of a whole timeout (docs/runs.md "Is anybody
listening?"). Written when the worker starts (before it can answer the broker) and at every sweep, removed when it
stops; a killed worker's entry expires. Only Redis and the settings: the worker calls it before Django is set up."""

from __future__ import annotations

import redis
from django.conf import settings

from .redis_client import client as _redis

KEY_PREFIX = "alchemiscale-portal:worker:"


def answer(worker: str) -> None:
    """On a worker (``worker``: its node name, ``name@host``): here, for the next ten sweep intervals."""
    _redis().set(KEY_PREFIX + worker, "1", ex=max(120, 10 * settings.OPERATIONS_SWEEP_INTERVAL))


def leave(worker: str) -> None:
    _redis().delete(KEY_PREFIX + worker)


def names() -> set[str]:
    """The workers that said they run (some may have died since); empty when Redis cannot be read."""
    try:
        return {key.decode()[len(KEY_PREFIX) :] for key in _redis().scan_iter(match=KEY_PREFIX + "*", count=1000)}
    except redis.RedisError:
        return set()
