"""Carrying out a run: claim it, run its steps in order, record every outcome (the worker's half of a run's life).

::

    execute()   in the worker: claims PENDING -> RUNNING with one conditional UPDATE (so a redelivered task cannot
                run it twice), then runs the steps: ``when="ok"`` steps run while nothing has failed,
                ``when="always"`` steps run regardless (start Neo4j again), ``when="failure"`` steps only after a
                failure (roll back). OperationFailed -> FAILED with its message; any other exception -> ERRORED with
                the traceback; otherwise SUCCEEDED. A step with ``required=False`` that fails is marked failed and
                logged as a warning, and the run goes on as if it had succeeded. Once the run has ended the
                ``run_finished`` signal goes out (signals.py)

Every step's start, end, outcome and output go to the :class:`~operations.models.OperationStep` rows created when
the run was requested (``requests.py``), which is what the admin's progress display and ``manage.py operations``
read. A worker that dies mid-run is dealt with by ``recovery.py``.

Adding a procedure: subclass :class:`~operations.runs.contract.Procedure` in the app that owns it (``kind``,
``title``, ``permission``, ``steps()``, optionally ``validate()`` and ``recover()``), register it in that app's
``AppConfig.ready()`` (``registry.register``), and give it a service function the admin view and the management
command both call (docs/architecture.md).
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from typing import Any

from django.utils import timezone

from ..models import OperationRun, OperationStep, RunStatus, StepStatus
from ..targets import TargetError, get_target
from . import registry
from .contract import OperationFailed, RunContext, Step
from .signals import run_finished

logger = logging.getLogger(__name__)


def set_step(step: OperationStep, status: str, **fields: Any) -> None:
    step.status = status
    for k, v in fields.items():
        setattr(step, k, v)
    step.save(update_fields=["status", *fields])


def classify(exc: Exception) -> tuple[str, str]:
    """(FAILED, the message) for an expected failure, (ERRORED, the traceback) for anything else."""
    if isinstance(exc, (OperationFailed, TargetError)):
        return RunStatus.FAILED, str(exc)
    return RunStatus.ERRORED, "".join(traceback.format_exception(exc)).strip()


def finished(run: OperationRun) -> None:
    """Tell the layers above that ``run`` has ended (e.g. drop what is cached about the store's contents)."""
    procedure = registry.find(run.kind)
    for receiver, result in run_finished.send_robust(sender=procedure, run=run, procedure=procedure):
        if isinstance(result, Exception):
            logger.error("a run_finished receiver (%s) failed for run %s: %s", receiver, run.pk, result)


def execute(run_id: int, worker: str = "", worker_pid: int | None = None) -> OperationRun | None:
    """Claim and run a PENDING run; None when it was not pending (already run, or interrupted and recovered)."""
    claimed = OperationRun.objects.filter(pk=run_id, status=RunStatus.PENDING).update(
        status=RunStatus.RUNNING,
        started_at=timezone.now(),
        worker=worker or socket.gethostname(),
        worker_pid=worker_pid if worker_pid is not None else os.getpid(),
    )
    if not claimed:
        logger.warning("run %s is not pending; not running it again", run_id)
        return None
    run = OperationRun.objects.get(pk=run_id)
    rows = list(run.steps.order_by("position"))
    ctx = RunContext(run, target=None)  # type: ignore[arg-type]
    failure: tuple[str, str] | None = None
    steps: list[Step]
    try:
        ctx.target = get_target(run.target)
        steps = registry.get(run.kind)(ctx.target, run.params).steps()
        if [s.name for s in steps] != [r.name for r in rows]:
            raise OperationFailed("the procedure's steps changed since this run was requested; request it again")
    except Exception as exc:
        steps, failure = [], classify(exc)
        ctx.log(failure[1], "error")
    for step, row in zip(steps, rows):
        if (failure is None and step.when == "failure") or (failure is not None and step.when == "ok"):
            set_step(row, StepStatus.SKIPPED)
            continue
        ctx.step = row
        set_step(row, StepStatus.RUNNING, started_at=timezone.now())
        ctx.log(f"step {row.position} of {len(rows)}: {row.name}")
        try:
            out = step.run(ctx)
        except Exception as exc:
            status, reason = classify(exc)
            ctx.output(reason)
            set_step(row, StepStatus.FAILED, finished_at=timezone.now())
            if not step.required:
                ctx.log(f"{row.name} failed; the run goes on without it: {reason.strip().splitlines()[-1]}", "warning")
                continue
            ctx.log(f"{row.name} failed: {reason.splitlines()[-1] if status == RunStatus.ERRORED else reason}", "error")
            if failure is None:
                failure = (status, f"{row.name}: {reason}")
            else:
                failure = (failure[0], f"{failure[1]}\nthen {row.name} also failed: {reason}")
            continue
        ctx.output(out or "")
        set_step(row, StepStatus.OK, finished_at=timezone.now())
        ctx.step = None
    ctx.step = None
    if ctx.target is not None:
        ctx.target.release_stopped()  # a run that leaves Neo4j stopped no longer holds it so
    for row in rows[len(steps) :]:
        set_step(row, StepStatus.SKIPPED)
    run.status, run.error = (RunStatus.SUCCEEDED, "") if failure is None else failure
    # What a step found wrong without failing (e.g. Neo4j had crashed) stays in sight on the run.
    run.error = "\n".join([run.error, *run.state.get("warnings", [])]).strip()
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])
    finished(run)
    ctx.log(
        f"{run.kind} {run.status}" + (f": {run.error.splitlines()[0]}" if run.error else ""),
        "info" if failure is None else "error",
    )
    return run
