"""The procedure runner: request, claim, run step by step, record, recover.

A *procedure* (``operations/procedures/``) is an ordered list of named :class:`Step` s built from a target and the
request's parameters; it never touches rows itself. The runner records every step's start, end, outcome and output
on the :class:`~operations.models.OperationStep` rows created when the run was requested, which is what the admin's
progress display and ``manage.py operations`` read.

Life of a run::

    request()   validates, inserts the run PENDING with its planned steps (a second active run on the same target
                violates a partial unique constraint: refused with OperationBusy naming the running one), and
                enqueues the Celery task only once that transaction has committed
    execute()   in the worker: claims PENDING -> RUNNING with one conditional UPDATE (so a redelivered task cannot
                run it twice), then runs the steps: ``when="ok"`` steps run while nothing has failed,
                ``when="always"`` steps run regardless (start Neo4j again), ``when="failure"`` steps only after a
                failure (roll back). OperationFailed -> FAILED with its message; any other exception -> ERRORED with
                the traceback; otherwise SUCCEEDED. A step with ``required=False`` that fails is marked failed and
                logged as a warning, and the run goes on as if it had succeeded
    cancel()    staff end a PENDING run (-> CANCELLED, who and when) with one conditional UPDATE; a message that
                arrives later finds nothing to claim. A RUNNING run cannot be cancelled mid-step
    resend_lost()   when a worker starts and every few seconds in every worker: PENDING runs whose message has
                waited past a grace time are sent again (the broker may have lost it); the claim keeps duplicates
                harmless
    recover_interrupted()   when a worker starts: RUNNING runs whose worker is gone get the procedure's
                ``recover()`` (bring Neo4j back up, put data back) and end INTERRUPTED saying what happened

Adding a procedure: subclass :class:`Procedure` (``kind``, ``title``, ``steps()``, optionally ``validate()`` and
``recover()``), add it to ``PROCEDURES`` in ``operations/procedures/__init__.py``, and give it a service function in
``operations/services.py`` that the admin view and the management command both call.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import socket
import traceback
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Literal

from django.conf import settings
from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import F, Q, TextField, Value
from django.db.models.functions import Concat
from django.utils import timezone

from .models import OperationRun, OperationStep, RunStatus, StepStatus
from .runlog import log_line
from .targets import AdminResult, Target, TargetError, get_target

logger = logging.getLogger(__name__)


class OperationFailed(Exception):
    """An expected failure; the message is shown to staff as the reason."""


class OperationBusy(Exception):
    """Another operation is active on the target."""

    def __init__(self, running: OperationRun | None, target: str):
        self.running = running
        if running is None:
            message = f"another operation is already active on target {target!r}"
        else:
            message = (
                f"another operation is already active on target {target!r}: {running.kind} #{running.pk} "
                f"({running.status}), requested by {running.requested_by_label} at "
                f"{running.requested_at:%Y-%m-%d %H:%M:%S} UTC"
            )
        super().__init__(message)


@dataclasses.dataclass
class Step:
    name: str
    run: Callable[[RunContext], str | None]
    description: str = ""
    #: the exact command lines the step runs, for the preview
    commands: list[list[str]] = dataclasses.field(default_factory=list)
    when: Literal["ok", "always", "failure"] = "ok"
    #: False: a failure of this step is shown on the step and logged as a warning, but the run goes on as if it had
    #: succeeded (for an extra that must not cost the operation itself, e.g. the portal database's copy)
    required: bool = True


class Procedure:
    kind: ClassVar[str]
    title: ClassVar[str]
    #: destructive procedures get a preview and a typed confirmation in the admin
    destructive: ClassVar[bool] = False
    #: the run may change what the state store holds (restore, migrations): when it ends, however it ends, what is
    #: cached about the store's contents (identities/inventory.py) is dropped for every process
    changes_store: ClassVar[bool] = False

    def __init__(self, target: Target, params: dict[str, Any]):
        self.target = target
        self.params = params

    def validate(self) -> None:
        """Refuse a request before any row is written (raise OperationFailed)."""

    def steps(self) -> list[Step]:
        raise NotImplementedError

    def recover(self, ctx: RunContext) -> list[str]:
        """After the worker died mid-run: make the target safe again; returns what was done, for the record.

        The default stops an orphaned neo4j-admin, then brings Neo4j back up if it was running when the run
        started (``state["was_running"]``). Procedures that change data first undo that, then call this.
        """
        done = self.target.stop_admin()
        if ctx.state.get("was_running") and not self.target.is_up():
            self.target.start()
            done.append("Neo4j started again")
        elif ctx.state.get("was_running"):
            self.target.wait_for_bolt()
            done.append("Neo4j was running")
        return done


class RunContext:
    """What a step gets: the target, the run's durable state, a log, and neo4j-admin with its output recorded."""

    def __init__(self, run: OperationRun, target: Target):
        self.run = run
        self.target = target
        self.step: OperationStep | None = None

    @property
    def state(self) -> dict[str, Any]:
        return self.run.state

    def remember(self, **facts: Any) -> None:
        """Record facts durably now (recovery after a crash reads them)."""
        self.run.state.update(facts)
        self.run.save(update_fields=["state"])

    def log(self, message: str, level: str = "info") -> None:
        """Add a line to the run's log: through logging, one row per line (operations/runlog.py)."""
        log_line(self.run.pk, message, level, self.step.name if self.step else "")

    def output(self, text: str) -> None:
        """Append to the current step's output (shown on the run page while it runs): one UPDATE that concatenates
        in the database, never the whole output written again."""
        if self.step is None or not text:
            return
        text = text if text.endswith("\n") else text + "\n"
        OperationStep.objects.filter(pk=self.step.pk).update(
            output=Concat(F("output"), Value(text), output_field=TextField())
        )
        self.step.output += text

    def admin(self, args: list[str], failure: str) -> AdminResult:
        """Run neo4j-admin; a non-zero exit raises OperationFailed with ``failure`` and the tool's last words."""
        self.log("$ " + " ".join(self.target.admin_command(args)))
        result = self.target.admin(args)
        self.output(result.output)
        if not result.ok:
            tail = "\n".join(result.output.strip().splitlines()[-5:])
            raise OperationFailed(f"{failure}: neo4j-admin {result.exit_description()}" + (f": {tail}" if tail else ""))
        return result


# -- requesting ----------------------------------------------------------------------------------------------
def active_run(target: str) -> OperationRun | None:
    return OperationRun.objects.filter(target=target, status__in=[RunStatus.PENDING, RunStatus.RUNNING]).first()


def queue_for(target: str) -> str:
    """The Celery queue a run on ``target`` goes to: its own (PORTAL_OPERATIONS_QUEUES) or the operations queue."""
    return settings.OPERATIONS_QUEUES.get(target, settings.OPERATIONS_QUEUE)


def preview(procedure: Procedure) -> list[dict[str, Any]]:
    """``plan`` after the request's own checks (OperationFailed when it would be refused)."""
    from . import remote

    if remote.via_worker():
        payload = {**remote.procedure_payload(procedure), "validate": True}
        return remote.call(procedure.target.name, "plan", payload)
    procedure.validate()
    return plan(procedure)


def plan(procedure: Procedure) -> list[dict[str, Any]]:
    """The steps and exact commands a run of ``procedure`` will carry out (the preview)."""
    from . import remote

    if remote.via_worker():  # the commands need the target's facts: its worker plans (operations/remote.py)
        return remote.call(procedure.target.name, "plan", remote.procedure_payload(procedure))
    return [
        {"position": i, "name": s.name, "description": s.description, "commands": s.commands, "when": s.when}
        for i, s in enumerate(procedure.steps(), start=1)
    ]


def request(
    procedure: Procedure, *, user: AbstractUser | AnonymousUser | None, label: str, send: bool = True
) -> OperationRun:
    """Record a run and enqueue it after commit; OperationBusy when the target already has an active run.

    ``send=False`` records it without a broker message, for a caller that carries it out itself (``--here``); should
    that caller die first, the sweep (``resend_lost``) hands the run to a worker.
    """
    from . import remote
    from .procedures import PROCEDURES

    assert PROCEDURES.get(procedure.kind) is type(procedure), f"{procedure.kind} is not in PROCEDURES"
    if remote.via_worker() and send:  # validated, planned and recorded by the target's worker (operations/remote.py)
        user_id = user.pk if user is not None and user.is_authenticated else None
        payload = {**remote.procedure_payload(procedure), "user": user_id, "label": label}
        return OperationRun.objects.get(pk=remote.call(procedure.target.name, "request", payload))
    procedure.validate()
    target = procedure.target
    try:
        with transaction.atomic():
            run = OperationRun.objects.create(
                kind=procedure.kind,
                target=target.name,
                target_description=target.describe(),
                params=procedure.params,
                requested_by=user if user is not None and user.is_authenticated else None,  # type: ignore[misc]
                requested_by_label=label,
                celery_task_id=OperationRun.new_task_id(),
                queue=queue_for(target.name),
                sent_at=None if send else timezone.now(),
            )
            OperationStep.objects.bulk_create(
                [
                    OperationStep(
                        run=run,
                        position=p["position"],
                        name=p["name"],
                        description=p["description"],
                        commands=p["commands"],
                    )
                    for p in plan(procedure)
                ]
            )
            if send:
                transaction.on_commit(lambda: enqueue(run))
    except IntegrityError:
        raise OperationBusy(active_run(target.name), target.name) from None
    return run


def enqueue(run: OperationRun) -> None:
    """Hand the run's message to the broker. The row, not the message, is the truth (docs/runs.md)."""
    from .tasks import run_operation

    OperationRun.objects.filter(pk=run.pk).update(sent_at=timezone.now(), send_count=F("send_count") + 1)
    try:
        run_operation.apply_async(
            args=[run.pk], task_id=run.celery_task_id, queue=run.queue or settings.OPERATIONS_QUEUE
        )
    except Exception as exc:  # the broker is unreachable: free the target at once instead of holding it
        OperationRun.objects.filter(pk=run.pk, status=RunStatus.PENDING).update(
            status=RunStatus.ERRORED,
            finished_at=timezone.now(),
            error=f"could not hand the run to a Celery worker (broker unreachable?): {exc}",
        )


def resend_due(run: OperationRun, now: dt.datetime, grace: float) -> bool:
    """Whether a pending run has waited long enough since its message was last sent for that message to count as
    lost. The wait doubles with every re-send (up to an hour), so a queue nobody consumes does not fill up."""
    if run.sent_at is None:
        return True
    wait = min(grace * 2 ** min(max(run.send_count - 1, 0), 12), 3600.0)
    return (now - run.sent_at).total_seconds() >= wait


def resend_lost(queues: Iterable[str] | None = None, grace: float | None = None) -> list[OperationRun]:
    """Send the message of every pending run (of ``queues``, all when None) again once it has waited past the grace
    time: the broker may have lost it (restarted, flushed) or a worker may have died before acknowledging it.

    Called when a worker starts and periodically by every worker. A duplicate message is harmless: the claim in
    ``execute`` lets only one through. Taking a run for re-sending is itself conditional, so two sweeping workers
    do not both send it.
    """
    grace = settings.OPERATIONS_RESEND_GRACE if grace is None else grace
    now = timezone.now()
    pending = OperationRun.objects.filter(status=RunStatus.PENDING)
    if queues is not None:
        queues = set(queues)
        wanted = Q(queue__in=queues)
        if settings.OPERATIONS_QUEUE in queues:
            wanted |= Q(queue="")  # runs recorded before runs named their queue
        pending = pending.filter(wanted)
    sent = []
    for run in pending:
        if not resend_due(run, now, grace):
            continue
        if not OperationRun.objects.filter(pk=run.pk, status=RunStatus.PENDING, sent_at=run.sent_at).update(
            sent_at=now
        ):
            continue  # another worker sent it, or it was claimed or cancelled meanwhile
        run.sent_at = now
        waited = "never sent" if run.send_count == 0 else f"sent {run.send_count} time(s), nobody took it"
        RunContext(run, target=None).log(  # type: ignore[arg-type]
            f"sending the run to queue {run.queue or settings.OPERATIONS_QUEUE!r} again ({waited}; the broker may "
            "have lost the message)",
            "warning",
        )
        enqueue(run)
        sent.append(run)
    return sent


def cancel(run_id: int, label: str) -> OperationRun:
    """Cancel a pending run: one conditional update, so a worker claiming it at the same moment either wins (the
    run goes on and the cancel is refused) or finds it cancelled and does nothing."""
    now = timezone.now()
    if OperationRun.objects.filter(pk=run_id, status=RunStatus.PENDING).update(
        status=RunStatus.CANCELLED,
        cancelled_at=now,
        cancelled_by_label=label,
        finished_at=now,
        error=f"cancelled by {label} before a worker started it",
    ):
        run = OperationRun.objects.get(pk=run_id)
        run.steps.filter(status=StepStatus.PENDING).update(status=StepStatus.SKIPPED)
        RunContext(run, target=None).log(f"cancelled by {label}; no step had run", "warning")  # type: ignore
        return run
    found = OperationRun.objects.filter(pk=run_id).first()
    if found is None:
        raise OperationFailed(f"there is no operation run #{run_id}")
    run = found
    raise OperationFailed(not_cancellable_reason(run))


def not_cancellable_reason(run: OperationRun) -> str:
    """Why ``run`` cannot be cancelled (only pending runs can), in words staff can act on."""
    if run.status == RunStatus.RUNNING:
        k, n = run.current_position()
        return (
            f"{run.kind} #{run.pk} is running (step {k} of {n} on {run.worker}) and cannot be cancelled "
            "mid-step: stopping a dump or load halfway would leave Neo4j without its data. It ends by itself; "
            "if its worker dies, the next worker to start brings Neo4j back up, puts data back where the run "
            "had set it aside, and marks the run interrupted."
        )
    return f"{run.kind} #{run.pk} is already {run.status}; only a pending run can be cancelled"


# -- running ---------------------------------------------------------------------------------------------------
def _set_step(step: OperationStep, status: str, **fields: Any) -> None:
    step.status = status
    for k, v in fields.items():
        setattr(step, k, v)
    step.save(update_fields=["status", *fields])


def execute(run_id: int, worker: str = "", worker_pid: int | None = None) -> OperationRun | None:
    """Claim and run a PENDING run; None when it was not pending (already run, or interrupted and recovered)."""
    from .procedures import PROCEDURES

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
    try:
        ctx.target = get_target(run.target)
        steps = PROCEDURES[run.kind](ctx.target, run.params).steps()
        if [s.name for s in steps] != [r.name for r in rows]:
            raise OperationFailed("the procedure's steps changed since this run was requested; request it again")
    except Exception as exc:
        steps, failure = [], _classify(exc)
        ctx.log(failure[1], "error")
    for step, row in zip(steps, rows):
        if (failure is None and step.when == "failure") or (failure is not None and step.when == "ok"):
            _set_step(row, StepStatus.SKIPPED)
            continue
        ctx.step = row
        _set_step(row, StepStatus.RUNNING, started_at=timezone.now())
        ctx.log(f"step {row.position} of {len(rows)}: {row.name}")
        try:
            out = step.run(ctx)
        except Exception as exc:
            status, reason = _classify(exc)
            ctx.output(reason)
            _set_step(row, StepStatus.FAILED, finished_at=timezone.now())
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
        _set_step(row, StepStatus.OK, finished_at=timezone.now())
        ctx.step = None
    ctx.step = None
    if ctx.target is not None:
        ctx.target.release_stopped()  # a run that leaves Neo4j stopped no longer holds it so
    for row in rows[len(steps) :]:
        _set_step(row, StepStatus.SKIPPED)
    run.status, run.error = (RunStatus.SUCCEEDED, "") if failure is None else failure
    # What a step found wrong without failing (e.g. Neo4j had crashed) stays in sight on the run.
    run.error = "\n".join([run.error, *run.state.get("warnings", [])]).strip()
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])
    _forget_store_caches(run)
    ctx.log(
        f"{run.kind} {run.status}" + (f": {run.error.splitlines()[0]}" if run.error else ""),
        "info" if failure is None else "error",
    )
    return run


def _forget_store_caches(run: OperationRun) -> None:
    """After a run that may have changed the store's contents: drop the caches of them (Django's cache, in Redis,
    shared by the web server, workers and commands, so every process reads the store afresh)."""
    from identities import inventory

    from .procedures import PROCEDURES

    if getattr(PROCEDURES.get(run.kind), "changes_store", False):
        inventory.forget()


def _classify(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, (OperationFailed, TargetError)):
        return RunStatus.FAILED, str(exc)
    return RunStatus.ERRORED, "".join(traceback.format_exception(exc)).strip()


# -- recovering --------------------------------------------------------------------------------------------------
def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _worker_gone(run: OperationRun, me: str) -> bool:
    if run.worker == me:
        return True  # a worker of our name cannot run two lives at once: its previous life died
    host = run.worker.rpartition("@")[2] if "@" in run.worker else run.worker
    if host == socket.gethostname() and run.worker_pid is not None:
        return not _pid_alive(run.worker_pid)
    from alchemiscale_portal.celery import app

    try:
        return not app.control.ping(destination=[run.worker], timeout=2.0)
    except Exception:
        return False  # cannot tell: leave it for a worker that can


def recover_interrupted(me: str) -> list[OperationRun]:
    """Find RUNNING runs whose worker died; recover each and mark it INTERRUPTED. Called when a worker starts."""
    recovered = []
    for run in OperationRun.objects.filter(status=RunStatus.RUNNING):
        if _worker_gone(run, me) and recover_run(run, me, f"the worker {run.worker} (pid {run.worker_pid}) stopped"):
            recovered.append(run)
    return recovered


def recover_run(run: OperationRun, me: str, cause: str) -> bool:
    """Make the target of a run whose worker died safe again and mark the run INTERRUPTED with what happened.

    False when another worker took the recovery over first.
    """
    from .procedures import PROCEDURES

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
    for row in rows:
        if row.status == StepStatus.RUNNING:
            _set_step(row, StepStatus.INTERRUPTED, finished_at=timezone.now())
        elif row.status == StepStatus.PENDING:
            _set_step(row, StepStatus.SKIPPED)
    ctx = RunContext(run, target=None)  # type: ignore[arg-type]
    ctx.log(f"{cause} during {where}; {me} is recovering", "error")
    try:
        ctx.target = get_target(run.target)
        done = PROCEDURES[run.kind](ctx.target, run.params).recover(ctx)
        outcome = "recovered: " + ("; ".join(done) if done else "nothing needed doing")
    except Exception as exc:
        outcome = f"recovery failed, the target needs attention: {_classify(exc)[1]}"
    finally:
        if ctx.target is not None:
            ctx.target.release_stopped()
    ctx.log(outcome, "warning")
    run.status = RunStatus.INTERRUPTED
    run.finished_at = timezone.now()
    run.error = f"{cause} during {where}; {outcome}"
    run.save(update_fields=["status", "finished_at", "error"])
    _forget_store_caches(run)
    return True
