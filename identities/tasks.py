"""Identity jobs that celery beat runs on a schedule (operations/migrations/0004_schedules.py creates it)."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)

# Audit entries of scheduled runs name this actor (a command-line kind of actor: no staff user asked).
SCHEDULER_ACTOR_NAME = "celery-beat schedule"


@shared_task(name="identities.lock_expired")
def lock_expired() -> dict[str, list[str]]:
    """``identity lock-expired`` for both identity types: alchemiscale itself never checks ``expires``."""
    # The Celery app imports this module while Django loads; models are ready only when the task runs.
    from .audit import Actor
    from .models import AuditEntry
    from .nodes import KINDS
    from .services import lock_expired as lock

    actor = Actor(AuditEntry.ActorKind.CLI, SCHEDULER_ACTOR_NAME)
    locked = {name: lock(kind, actor) for name, kind in KINDS.items()}
    for name, identifiers in locked.items():
        for identifier in identifiers:
            logger.warning("locked out expired %s identity %s", name, identifier)
    return locked
