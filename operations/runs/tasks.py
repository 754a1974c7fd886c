"""The run machinery's Celery side: the task that carries out a run, and what every worker does when it starts, every
sweep, and when it stops (recover runs whose worker died, re-send lost messages, answer the roll call, report on the
target). Task names are the API: lower layers send them by name."""

from __future__ import annotations

import logging
import os
import socket

from billiard.exceptions import WorkerLostError
from celery import shared_task
from celery.signals import task_failure, worker_init, worker_ready, worker_shutdown
from django.conf import settings
from django.db import close_old_connections

from ..models import OperationRun, RunStatus
from . import reports, roll_call, startup
from .engine import execute
from .recovery import recover_interrupted, recover_run
from .requests import RUN_TASK, resend_lost

logger = logging.getLogger(__name__)


@shared_task(name="operations.ping")
def ping(payload: str) -> dict[str, str]:
    """A round trip through the broker and a worker; the status page and the wiring tests use it."""
    return {"echo": payload, "host": socket.gethostname(), "pid": str(os.getpid())}


@shared_task(bind=True, name=RUN_TASK)
def run_operation(self, run_id: int) -> str | None:
    """Carry out one requested operation run (backup, restore, ...) step by step; the row records everything."""
    run = execute(run_id, worker=self.request.hostname or socket.gethostname(), worker_pid=os.getpid())
    return run.status if run is not None else None


@worker_ready.connect
def recover_interrupted_runs(sender=None, **_kwargs) -> None:
    """A worker that starts finds runs whose worker died, brings their target back up and marks them interrupted,
    then sends the messages of pending runs again that the broker may have lost.

    Runs in the worker's main process before it takes tasks, so nothing new starts on a target mid-recovery.
    """
    me = getattr(sender, "hostname", None) or socket.gethostname()
    try:
        for run in recover_interrupted(me):
            logger.warning("recovered interrupted run %s: %s", run.pk, run.error)
    except Exception:
        logger.exception("recovering interrupted operation runs failed")
    if settings.RECONCILE_ON_WORKER_START:  # no run of a dead worker counts as running any more
        startup.run_all()
    sweep_pending_runs(getattr(sender, "app", None), getattr(sender, "hostname", None))


def _answer_roll_call(worker: str | None) -> None:
    if worker:
        try:
            roll_call.answer(worker)
        except Exception:  # the broker is Redis too: nothing works until it is back; the next sweep answers
            logger.warning("could not answer the workers' roll call as %s", worker)


@worker_init.connect
def join_roll_call(sender=None, **_kwargs) -> None:
    """A worker that starts is on the roll call (roll_call.py) before it answers the broker."""
    _answer_roll_call(getattr(sender, "hostname", None))


@worker_shutdown.connect
def leave_roll_call(sender=None, **_kwargs) -> None:
    """A worker that stops takes its name off the roll call."""
    name = getattr(sender, "hostname", None)
    if name:
        try:
            roll_call.leave(name)
        except Exception:  # its entry expires
            logger.warning("could not take %s off the workers' roll call", name)


def sweep_pending_runs(app=None, worker: str | None = None) -> None:
    """Re-send lost messages of pending runs on the queues this worker consumes (requests.resend_lost);
    ``worker`` (its node name) answers the roll call again (roll_call.py)."""
    _answer_roll_call(worker)

    queues = list(app.amqp.queues.consume_from) if app is not None else None
    close_old_connections()
    try:
        for run in resend_lost(queues):
            logger.warning("sent pending run %s to queue %r again", run.pk, run.queue)
    except Exception:
        logger.exception("re-sending pending operation runs failed")
    finally:
        close_old_connections()
    # ... and report on the target for web processes that do not reach it themselves (reports.py)
    reports.record_reports_of_worker(app)


@task_failure.connect
def recover_run_of_lost_process(sender=None, exception=None, args=None, **_kwargs) -> None:
    """The pool process running an operation died (OOM killer, SIGKILL) but this worker lives on: recover now.

    Called in the worker's main process; without this the run would hold its target until a worker restarts.
    """
    if getattr(sender, "name", "") != RUN_TASK or not isinstance(exception, WorkerLostError) or not args:
        return
    run = OperationRun.objects.filter(pk=args[0], status=RunStatus.RUNNING).first()
    if run is None:
        return
    me = getattr(getattr(sender, "request", None), "hostname", None) or socket.gethostname()
    try:
        recover_run(run, me, f"the worker process {run.worker} (pid {run.worker_pid}) died ({exception})")
    except Exception:
        logger.exception("recovering run %s after its worker process died failed", run.pk)
