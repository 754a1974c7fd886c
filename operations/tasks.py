from __future__ import annotations

import logging
import os
import socket

from billiard.exceptions import WorkerLostError
from celery import bootsteps, shared_task
from celery.signals import task_failure, worker_init, worker_ready, worker_shutdown

from . import (
    remote,  # noqa: F401  (registers operations.on_worker, the calls of web processes without target access)
    roll_call,
)

logger = logging.getLogger(__name__)


@shared_task(name="operations.ping")
def ping(payload: str) -> dict[str, str]:
    """A round trip through the broker and a worker; the status page and the wiring tests use it."""
    return {"echo": payload, "host": socket.gethostname(), "pid": str(os.getpid())}


@shared_task(name="operations.restore_drill")
def restore_drill() -> str:
    """Verify the newest backup when a drill is due (operations/drills.py); beat runs it every hour."""
    from .drills import drill_if_due

    return drill_if_due()


@shared_task(bind=True, name="operations.run_operation")
def run_operation(self, run_id: int) -> str | None:
    """Carry out one requested operation run (backup, restore, ...) step by step; the row records everything."""
    from .runner import execute

    run = execute(run_id, worker=self.request.hostname or socket.gethostname(), worker_pid=os.getpid())
    return run.status if run is not None else None


@worker_ready.connect
def recover_interrupted_runs(sender=None, **_kwargs) -> None:
    """A worker that starts finds runs whose worker died, brings their target back up and marks them interrupted,
    then sends the messages of pending runs again that the broker may have lost.

    Runs in the worker's main process before it takes tasks, so nothing new starts on a target mid-recovery.
    """
    from .runner import recover_interrupted

    me = getattr(sender, "hostname", None) or socket.gethostname()
    try:
        for run in recover_interrupted(me):
            logger.warning("recovered interrupted run %s: %s", run.pk, run.error)
    except Exception:
        logger.exception("recovering interrupted operation runs failed")
    sweep_pending_runs(getattr(sender, "app", None), getattr(sender, "hostname", None))


def _answer_roll_call(worker: str | None) -> None:
    if worker:
        try:
            roll_call.answer(worker)
        except Exception:  # the broker is Redis too: nothing works until it is back; the next sweep answers
            logger.warning("could not answer the workers' roll call as %s", worker)


@worker_init.connect
def join_roll_call(sender=None, **_kwargs) -> None:
    """A worker that starts is on the roll call (operations/roll_call.py) before it answers the broker."""
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
    """Re-send lost messages of pending runs on the queues this worker consumes (operations.runner.resend_lost);
    ``worker`` (its node name) answers the roll call again (operations/roll_call.py)."""
    from django.db import close_old_connections

    from .runner import resend_lost

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
    # ... and report on the target for web processes that do not reach it themselves (operations/remote.py)
    from .remote import record_reports_of_worker

    record_reports_of_worker(app)


class PendingRunSweep(bootsteps.StartStopStep):
    """Every worker sweeps for pending runs whose message was lost, every PORTAL_SWEEP_INTERVAL_SECONDS, in its main
    process (registered in alchemiscale_portal/celery.py)."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.tref = None

    def start(self, worker) -> None:
        from django.conf import settings

        self.tref = worker.timer.call_repeatedly(
            max(1, settings.OPERATIONS_SWEEP_INTERVAL), sweep_pending_runs, (worker.app, worker.hostname), priority=10
        )

    def stop(self, worker) -> None:
        if self.tref is not None:
            self.tref.cancel()


@task_failure.connect
def recover_run_of_lost_process(sender=None, exception=None, args=None, **_kwargs) -> None:
    """The pool process running an operation died (OOM killer, SIGKILL) but this worker lives on: recover now.

    Called in the worker's main process; without this the run would hold its target until a worker restarts.
    """
    if getattr(sender, "name", "") != run_operation.name or not isinstance(exception, WorkerLostError) or not args:
        return
    from .models import OperationRun, RunStatus
    from .runner import recover_run

    run = OperationRun.objects.filter(pk=args[0], status=RunStatus.RUNNING).first()
    if run is None:
        return
    me = getattr(getattr(sender, "request", None), "hostname", None) or socket.gethostname()
    try:
        recover_run(run, me, f"the worker process {run.worker} (pid {run.worker_pid}) died ({exception})")
    except Exception:
        logger.exception("recovering run %s after its worker process died failed", run.pk)


@shared_task(name="operations.scheduled_backup")
def scheduled_backup(schedule_id: int) -> str:
    """A backup schedule is due: request the backup, or record why it waits or was skipped (docs/unattended.md).

    The portal's beat decides due schedules itself (operations/beat.py); this task is the same decision for
    whoever sends it by hand (e.g. "Run selected tasks" in django-celery-beat's admin)."""
    from .schedules import fire

    return fire(schedule_id)


@shared_task(name="operations.alerts_sweep")
def alerts_sweep() -> dict[str, list[int]]:
    """Open alerts for new problems, resolve cleared ones, retry failed deliveries (beat runs it every minute)."""
    from .alerts import sweep

    return {event: [a.pk for a in alerts] for event, alerts in sweep().items()}
