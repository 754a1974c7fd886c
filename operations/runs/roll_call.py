"""The workers' roll call: each portal worker's node name in Redis while it runs, so that asking the workers over
the broker waits for as many answers as there are workers instead of a whole timeout (docs/runs.md "Is anybody
listening?"). Written when the worker starts (before it can answer the broker) and at every sweep, removed when it
stops; a killed worker's entry expires. Only Redis and the settings: the worker calls it before Django is set up.

:func:`worker_queues` asks the workers over the broker which queues they consume, using the roll call to know how
many answers to wait for."""

from __future__ import annotations

from typing import Any

import redis
from celery import current_app
from django.conf import settings

from ..redis_client import client as _redis

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


def _active_queues(limit: int | None) -> dict[str, Any]:
    return current_app.control.inspect(timeout=1.0, limit=limit).active_queues() or {}


def worker_queues() -> dict[str, list[str]] | None:
    """Each live worker and the queues it consumes (they answer within 1 s); None when the broker cannot be asked.

    Celery's broadcast waits its whole timeout unless told how many answers to expect. The roll call tells: when
    exactly the workers on it answer, that is the answer at once; when fewer answer (one died), the full second has
    passed and every live worker has answered; when another worker's answer came among them, ask again without a
    limit. The answers, never the roll call, decide who is alive."""
    try:
        _redis().ping()  # the broker is this Redis: when it is gone, say so now, not after Celery's retries (6 s)
        expected = names()
        replies = _active_queues(len(expected) or None)
        if expected and len(replies) >= len(expected) and set(replies) != expected:
            replies = _active_queues(None)
    except Exception:
        return None
    return {worker: sorted(q.get("name", "") for q in queues or []) for worker, queues in replies.items()}
