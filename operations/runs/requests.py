"""Asking for runs: plan, request, cancel, and re-send what the broker lost (the "requested" half of a run's life).

Life of a run (the other half is ``engine.py`` and ``recovery.py``)::

    request()   validates, inserts the run PENDING with its planned steps (a second active run on the same target
                violates a partial unique constraint: refused with OperationBusy naming the running one), and sends
                the Celery task ``operations.run_operation`` by name only once that transaction has committed
    cancel()    staff end a PENDING run (-> CANCELLED, who and when) with one conditional UPDATE; a message that
                arrives later finds nothing to claim. A RUNNING run cannot be cancelled mid-step
    resend_lost()   when a worker starts and every few seconds in every worker: PENDING runs whose message has
                waited past a grace time are sent again (the broker may have lost it); the claim keeps duplicates
                harmless

A web process that cannot reach the target (PORTAL_TARGET_VIA_WORKER) plans and requests through the target's
worker (``worker_calls.py``), which runs these same functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from security.actors import Actor

from ..models import OperationRun, OperationStep, RunStatus, StepStatus
from . import registry, roll_call, worker_calls
from .contract import OperationBusy, OperationFailed, Procedure, RunContext

#: the Celery task that carries out a run (operations/runs/tasks.py); sent by name
RUN_TASK = "operations.run_operation"

User = AbstractUser | AnonymousUser | None


def cli_label() -> str:
    """How a command-line request is recorded: ``cli:<operating-system user>``."""
    return Actor.command_line().label


def label_for(user: User, label: str | None = None) -> str:
    """Who a request is recorded as: ``label`` when given, else the staff user, else the command line."""
    if label:
        return label
    if user is not None and user.is_authenticated:
        return Actor.staff(user).label
    return cli_label()


def can_request(user: User, kind: str) -> bool:
    """Whether ``user`` may request a run of ``kind`` (and so cancel one): the procedure's own permission."""
    procedure = registry.find(kind)
    return procedure is not None and procedure.allowed(user)


def active_run(target: str | None = None) -> OperationRun | None:
    """The pending or running operation on the target (default: the portal's), if any."""
    target = target or settings.OPERATIONS_TARGET
    return OperationRun.objects.filter(target=target, status__in=[RunStatus.PENDING, RunStatus.RUNNING]).first()


def queue_for(target: str) -> str:
    """The Celery queue a run on ``target`` goes to: its own (PORTAL_OPERATIONS_QUEUES) or the operations queue."""
    return settings.OPERATIONS_QUEUES.get(target, settings.OPERATIONS_QUEUE)


def queue_consumers(queue: str | None = None) -> list[str] | None:
    """The workers consuming ``queue`` (the default target's queue by default); None when the broker cannot be
    asked."""
    queue = queue or queue_for(settings.OPERATIONS_TARGET)
    workers = roll_call.worker_queues()
    if workers is None:
        return None
    return sorted(worker for worker, queues in workers.items() if queue in queues)


def no_worker_warning(queue: str | None = None) -> str:
    """'' when a worker consumes the operations queue, else what to tell staff before and after a request."""
    queue = queue or queue_for(settings.OPERATIONS_TARGET)
    consumers = queue_consumers(queue)
    if consumers is None:
        return f"the broker does not answer: no worker can take queue {queue!r} now; the run waits until one can"
    if not consumers:
        return (
            f"no worker is consuming queue {queue!r}; the run waits until one starts "
            f"(`celery -A alchemiscale_portal worker -Q {queue}`)"
        )
    return ""


def preview(procedure: Procedure) -> list[dict[str, Any]]:
    """``plan`` after the request's own checks (OperationFailed when it would be refused)."""
    if worker_calls.via_worker():
        payload = {**worker_calls.procedure_payload(procedure), "validate": True}
        return worker_calls.call(procedure.target.name, queue_for(procedure.target.name), "plan", payload)
    procedure.validate()
    return plan(procedure)


def plan(procedure: Procedure) -> list[dict[str, Any]]:
    """The steps and exact commands a run of ``procedure`` will carry out (the preview)."""
    if worker_calls.via_worker():  # the commands need the target's facts: its worker plans
        payload = worker_calls.procedure_payload(procedure)
        return worker_calls.call(procedure.target.name, queue_for(procedure.target.name), "plan", payload)
    return [
        {"position": i, "name": s.name, "description": s.description, "commands": s.commands, "when": s.when}
        for i, s in enumerate(procedure.steps(), start=1)
    ]


def request(procedure: Procedure, *, user: User, label: str, send: bool = True) -> OperationRun:
    """Record a run and enqueue it after commit; OperationBusy when the target already has an active run.

    ``send=False`` records it without a broker message, for a caller that carries it out itself (``--here``); should
    that caller die first, the sweep (``resend_lost``) hands the run to a worker.
    """
    if registry.find(procedure.kind) is not type(procedure):
        raise OperationFailed(f"{procedure.kind} is not a registered procedure")
    if not procedure.allowed(user):
        raise PermissionDenied(f"you may not request {procedure.kind} runs")
    if worker_calls.via_worker() and send:  # validated, planned and recorded by the target's worker
        user_id = user.pk if user is not None and user.is_authenticated else None
        payload = {**worker_calls.procedure_payload(procedure), "user": user_id, "label": label}
        name = procedure.target.name
        return OperationRun.objects.get(pk=worker_calls.call(name, queue_for(name), "request", payload))
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
    OperationRun.objects.filter(pk=run.pk).update(sent_at=timezone.now(), send_count=F("send_count") + 1)
    try:
        current_app.send_task(
            RUN_TASK, args=[run.pk], task_id=run.celery_task_id, queue=run.queue or settings.OPERATIONS_QUEUE
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
    ``engine.execute`` lets only one through. Taking a run for re-sending is itself conditional, so two sweeping
    workers do not both send it.
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
    raise OperationFailed(not_cancellable_reason(found))


def cancel_run(run_id: int, user: User = None, *, label: str | None = None) -> OperationRun:
    """Cancel a pending run as ``user`` (None: the command line); OperationFailed says why not (running, already
    over, no such run), PermissionDenied when ``user`` may not request runs of its kind."""
    run = OperationRun.objects.filter(pk=run_id).first()
    if run is None:
        raise OperationFailed(f"there is no operation run #{run_id}")
    if not can_request(user, run.kind):
        raise PermissionDenied(f"you may not cancel {run.kind} runs: it needs the right to request them")
    return cancel(run.pk, label_for(user, label))


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


@worker_calls.answers("plan")
def _plan_on_worker(payload: dict[str, Any]) -> list[dict[str, Any]]:
    procedure = worker_calls.procedure_of(payload)
    if payload.get("validate"):
        procedure.validate()
    return plan(procedure)


@worker_calls.answers("request")
def _request_on_worker(payload: dict[str, Any]) -> int:
    user = worker_calls.user_of(payload["user"])
    return request(worker_calls.procedure_of(payload), user=user, label=payload["label"]).pk
