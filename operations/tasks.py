from __future__ import annotations

import logging
import os
import socket

from celery import shared_task
from celery.signals import worker_ready

logger = logging.getLogger(__name__)


@shared_task(name="operations.ping")
def ping(payload: str) -> dict[str, str]:
    """A round trip through the broker and a worker; the status page and the wiring tests use it."""
    return {"echo": payload, "host": socket.gethostname(), "pid": str(os.getpid())}


@shared_task(bind=True, name="operations.run_operation")
def run_operation(self, run_id: int) -> str | None:
    """Carry out one requested operation run (backup, restore, ...) step by step; the row records everything."""
    from .runner import execute

    run = execute(run_id, worker=self.request.hostname or socket.gethostname(), worker_pid=os.getpid())
    return run.status if run is not None else None


@worker_ready.connect
def recover_interrupted_runs(sender=None, **_kwargs) -> None:
    """A worker that starts finds runs whose worker died, brings their target back up and marks them interrupted.

    Runs in the worker's main process before it takes tasks, so nothing new starts on a target mid-recovery.
    """
    from .runner import recover_interrupted

    me = getattr(sender, "hostname", None) or socket.gethostname()
    try:
        for run in recover_interrupted(me):
            logger.warning("recovered interrupted run %s: %s", run.pk, run.error)
    except Exception:
        logger.exception("recovering interrupted operation runs failed")
