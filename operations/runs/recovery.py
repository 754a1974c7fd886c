"""Runs whose worker died: find them, make their target safe again, and say so on the run.

::

    recover_interrupted()   when a worker starts: RUNNING runs whose worker is gone get the procedure's
                ``recover()`` (bring Neo4j back up, put data back) and end INTERRUPTED saying what happened
    recover_run()   the same for one run, also when a worker's pool process died while the worker lives on
"""

from __future__ import annotations

import logging
import os
import socket

from celery import current_app
from django.utils import timezone

from ..models import OperationRun, RunStatus, StepStatus
from ..processes import pid_alive
from ..targets import get_target
from . import registry
from .contract import RunContext
from .engine import classify, finished, mark, record_end

logger = logging.getLogger(__name__)


def worker_gone(run: OperationRun, me: str) -> bool:
    if run.worker == me:
        # Our own name: either our previous life died, or a second worker was started with the same node name
        # (which once killed a healthy dump). The name alone cannot tell; the process that claimed the run can.
        if run.worker_pid is not None and run.worker_pid != os.getpid() and _celery_alive(run.worker_pid):
            logger.error(
                "run %s is held by a live process (pid %s) of a worker also named %s: two workers share the node "
                "name; give each its own (-n name@%%h) — the run is left alone",
                run.pk,
                run.worker_pid,
                me,
            )
            return False
        return True
    host = run.worker.rpartition("@")[2] if "@" in run.worker else run.worker
    if host == socket.gethostname() and run.worker_pid is not None:
        return not pid_alive(run.worker_pid)
    try:
        return not current_app.control.ping(destination=[run.worker], timeout=2.0)
    except Exception:
        return False  # cannot tell: leave it for a worker that can


def _celery_alive(pid: int) -> bool:
    """A live process that is a Celery worker (a pid reused by anything else after a restart does not count)."""
    if not pid_alive(pid):
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"celery" in fh.read()
    except OSError:
        return False


def recover_interrupted(me: str) -> list[OperationRun]:
    """Find RUNNING runs whose worker died; recover each and mark it INTERRUPTED. Called when a worker starts."""
    recovered = []
    for run in OperationRun.objects.filter(status=RunStatus.RUNNING):
        if worker_gone(run, me) and recover_run(run, me, f"the worker {run.worker} (pid {run.worker_pid}) stopped"):
            recovered.append(run)
    return recovered


def recover_run(run: OperationRun, me: str, cause: str) -> bool:
    """Make the target of a run whose worker died safe again and mark the run INTERRUPTED with what happened.

    False when another worker took the recovery over first.
    """
    # Take the run over atomically so two starting workers do not both recover it; it stays RUNNING (and so keeps
    # its target) until Neo4j is safe again.
    if not OperationRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING, worker=run.worker).update(
        worker=f"{me} (recovering)", worker_pid=os.getpid()
    ):
        return False
    run.refresh_from_db()
    rows = list(run.steps.order_by("position"))
    current = next((r for r in rows if r.status == StepStatus.RUNNING), None)
    k = current.position if current else max((r.position for r in rows if r.status != StepStatus.PENDING), default=0)
    where = f"step {k} of {len(rows)} ({current.name})" if current else f"after step {k} of {len(rows)}"
    # Its bookkeeping as a run's (engine.py): a write the database refuses does not keep Neo4j down; the end is
    # recorded once the database answers.
    ctx = RunContext(run, target=None)  # type: ignore[arg-type]
    ctx.putting_right = True
    for row in rows:
        if row.status == StepStatus.RUNNING:
            mark(ctx, row, StepStatus.INTERRUPTED, finished_at=timezone.now())
        elif row.status == StepStatus.PENDING:
            mark(ctx, row, StepStatus.SKIPPED)
    ctx.log(f"{cause} during {where}; {me} is recovering", "error")
    try:
        ctx.target = get_target(run.target)
        done = registry.get(run.kind)(ctx.target, run.params).recover(ctx)
        outcome = "recovered: " + ("; ".join(done) if done else "nothing needed doing")
    except Exception as exc:
        outcome = f"recovery failed, the target needs attention: {classify(exc)[1]}"
    finally:
        if ctx.target is not None:
            ctx.target.release_stopped()
    ctx.log(outcome, "warning")
    run.status = RunStatus.INTERRUPTED
    run.finished_at = timezone.now()
    run.error = f"{cause} during {where}; {outcome}"
    record_end(ctx, rows)
    finished(run)
    return True
