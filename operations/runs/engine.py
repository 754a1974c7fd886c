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
import time
import traceback
from typing import Any

from django.db import Error as DbError
from django.db import connection, transaction
from django.utils import timezone

from identities.unavailable import is_unavailable
from security.masking import mask_url

from ..models import OperationRun, OperationStep, RunStatus, StepStatus
from ..targets import TargetError, get_target
from . import outage as run_outage
from . import registry
from .contract import OperationFailed, RunContext, Step, store_line
from .signals import run_finished

logger = logging.getLogger(__name__)


#: how the runner records a run's end while the portal's database refuses writes: attempts FIRST_PAUSE s apart, the
#: pause doubled after each up to MAX_PAUSE, for RECORD_FOR s in all (each attempt itself waits up to the busy timeout)
FIRST_PAUSE = 1.0
MAX_PAUSE = 30.0
RECORD_FOR = 900.0


def pause(seconds: float) -> None:
    time.sleep(seconds)


def mark(ctx: RunContext, step: OperationStep, status: str, **fields: Any) -> None:
    """Set a step's status (and other fields) as the run's bookkeeping: kept in memory, written while the database
    takes writes."""
    step.status = status
    for k, v in fields.items():
        setattr(step, k, v)
    ctx.write(lambda: step.save(update_fields=["status", *fields]))


def classify(exc: Exception) -> tuple[str, str]:
    """(FAILED, the message) for an expected failure, (ERRORED, the traceback) for anything else."""
    if isinstance(exc, (OperationFailed, TargetError)):
        return RunStatus.FAILED, str(exc)
    if is_unavailable(exc):  # Neo4j crashed or was stopped under the step: a failure to state, not a bug to trace
        return RunStatus.FAILED, f"Neo4j stopped answering: {mask_url(str(exc))}"
    return RunStatus.ERRORED, "".join(traceback.format_exception(exc)).strip()


def finished(run: OperationRun) -> None:
    """Tell the layers above that ``run`` has ended (e.g. drop what is cached about the store's contents)."""
    procedure = registry.find(run.kind)
    for receiver, result in run_finished.send_robust(sender=procedure, run=run, procedure=procedure):
        if isinstance(result, Exception):
            logger.error("a run_finished receiver (%s) failed for run %s: %s", receiver, run.pk, result)


def refused(ctx: RunContext) -> tuple[str, str]:
    """The run's failure when the portal's database refused a write of it."""
    exc, step = ctx.unrecorded, ctx.unrecorded_during
    where = f" during step {step.position} ({step.name})" if step is not None else ""
    return RunStatus.ERRORED, (
        f"the portal's database refused a write{where} ({type(exc).__name__}: {exc}); after it only the steps that "
        f"put the target right ran (start Neo4j again, clean up, roll back), and this record was written once the "
        f"database took writes again"
    )


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
    steps: list[Step] = []
    try:
        try:
            ctx.target = get_target(run.target)
            steps = registry.get(run.kind)(ctx.target, run.params).steps()
            if [s.name for s in steps] != [r.name for r in rows]:
                raise OperationFailed("the procedure's steps changed since this run was requested; request it again")
        except Exception as exc:
            steps, failure = [], classify(exc)
            ctx.log(failure[1], "error")
        failure = run_steps(ctx, steps, rows, failure)
    finally:
        # Whatever failed, the database included, or whatever tore the run down: what a run stopped, it starts.
        bring_neo4j_back(ctx)
        if ctx.target is not None:
            ctx.target.release_stopped()  # a run that leaves Neo4j stopped no longer holds it so
    for row in rows[len(steps) :]:
        mark(ctx, row, StepStatus.SKIPPED)
    if failure is None and ctx.unrecorded is not None:
        failure = refused(ctx)
    run.status, run.error = (RunStatus.SUCCEEDED, "") if failure is None else failure
    # What a step found wrong without failing (e.g. Neo4j had crashed) stays in sight on the run.
    run.error = "\n".join([run.error, *run.state.get("warnings", [])]).strip()
    run.finished_at = timezone.now()
    record_end(ctx, rows)
    finished(run)
    ctx.log(
        f"{run.kind} {run.status}" + (f": {run.error.splitlines()[0]}" if run.error else ""),
        "info" if failure is None else "error",
    )
    return run


def run_steps(
    ctx: RunContext, steps: list[Step], rows: list[OperationStep], failure: tuple[str, str] | None
) -> tuple[str, str] | None:
    """Run the steps in order, each recorded on its row; the run's failure, if any.

    Once the database has refused a write the run has failed: what is left of it is its undo and "always" steps,
    which put the target right and need no record to do so (their bookkeeping waits in memory)."""
    for step, row in zip(steps, rows):
        if failure is None and ctx.unrecorded is not None:
            failure = refused(ctx)
        if (failure is None and step.when == "failure") or (failure is not None and step.when == "ok"):
            mark(ctx, row, StepStatus.SKIPPED)
            continue
        ctx.step, ctx.putting_right = row, step.when != "ok"
        mark(ctx, row, StepStatus.RUNNING, started_at=timezone.now())
        ctx.log(f"step {row.position} of {len(rows)}: {row.name}")
        try:
            out = step.run(ctx)
        except Exception as exc:
            status, reason = refused(ctx) if exc is ctx.unrecorded else classify(exc)
            ctx.output(reason)
            mark(ctx, row, StepStatus.FAILED, finished_at=timezone.now())
            if not step.required:
                ctx.log(f"{row.name} failed; the run goes on without it: {reason.strip().splitlines()[-1]}", "warning")
                continue
            ctx.log(f"{row.name} failed: {reason.splitlines()[-1] if status == RunStatus.ERRORED else reason}", "error")
            if failure is None:
                failure = (status, reason if exc is ctx.unrecorded else f"{row.name}: {reason}")
            else:
                failure = (failure[0], f"{failure[1]}\nthen {row.name} also failed: {reason}")
            continue
        ctx.output(out or "")
        mark(ctx, row, StepStatus.OK, finished_at=timezone.now())
        ctx.step = None
    ctx.step = None
    return failure


def bring_neo4j_back(ctx: RunContext) -> None:
    """Start Neo4j when this run stopped it and no step has tried to start it since: the last resort, from what the
    run holds in memory, needing no database (a step that starts it clears the mark first)."""
    if ctx.target is None or not ctx.holds_neo4j_down:
        return
    ctx.starting_neo4j()
    ctx.putting_right = True
    try:
        if ctx.target.is_up():
            return
        ctx.log("this run stopped Neo4j and no step started it again: starting it now", "warning")
        ctx.target.start()
        run_outage.ended(ctx)
        ctx.log("Neo4j is up and answers over Bolt")
    except Exception as exc:
        ctx.log(f"starting Neo4j again failed, it needs attention: {classify(exc)[1]}", "error")


def record_end(ctx: RunContext, rows: list[OperationStep]) -> bool:
    """Write the run's end; while the database refuses, try again with growing pauses, writing everything kept in
    memory meanwhile (steps, state, log lines) with it in one transaction. False when it still refused after
    RECORD_FOR seconds."""
    run = ctx.run
    if ctx.write(lambda: run.save(update_fields=["status", "error", "finished_at"])):
        return True
    delay, deadline = FIRST_PAUSE, time.monotonic() + RECORD_FOR
    while True:
        try:
            if not connection.in_atomic_block:
                connection.close_if_unusable_or_obsolete()  # PostgreSQL: a connection lost meanwhile is replaced
            with transaction.atomic():
                run.save(update_fields=["status", "error", "finished_at", "state"])
                for row in rows:
                    row.save(update_fields=["status", "started_at", "finished_at", "output"])
                for line in ctx.unrecorded_lines:
                    store_line(run.pk, *line)
            break
        except DbError as exc:
            if time.monotonic() + delay > deadline:
                logger.error(
                    "run %s: the portal's database still refuses writes after %.0f s (%s); the run stays "
                    "'running' in the database until a worker's recovery ends it. It ended %s: %s",
                    run.pk,
                    RECORD_FOR,
                    exc,
                    run.status,
                    run.error,
                )
                return False
            logger.warning(
                "run %s: the database refuses to record the run's end (%s); again in %.0f s", run.pk, exc, delay
            )
            pause(delay)
            delay = min(delay * 2, MAX_PAUSE)
    ctx.unrecorded, ctx.unrecorded_lines = None, []
    return True
