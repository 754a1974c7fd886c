"""Least privilege: a web process that cannot reach the operations target (no Docker socket, no Neo4j data directory;
``PORTAL_TARGET_VIA_WORKER``) asks the target's worker instead, through the broker.

Planning and requesting a run (the exact commands need the container's mounts and user) and a migration's prechecks
are *calls*: the web sends ``operations.on_worker`` to the target's queue and waits for the answer (``call``); the
worker runs the same functions as everywhere else, found by name among the answers registered with
:func:`answers` (the run machinery registers "plan" and "request", the upgrades app "migration_status"). Refusals
come back as the same exceptions. What the status page shows about the target comes from the worker's report
instead (``reports.py``).

The worker itself never has the setting on, so on the worker every function works directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import shared_task
from celery.exceptions import TimeoutError as CeleryTimeout
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied

from ..models import OperationRun
from ..targets import get_target, via_worker
from . import registry
from .contract import OperationBusy, OperationFailed, Procedure

__all__ = ["answers", "call", "procedure_of", "procedure_payload", "user_of", "via_worker"]

_ANSWERS: dict[str, Callable[[dict[str, Any]], Any]] = {}


def answers(what: str) -> Callable[[Callable[[dict[str, Any]], Any]], Callable[[dict[str, Any]], Any]]:
    """Register the function a worker runs for a call named ``what`` (it takes the payload, returns JSON)."""

    def register(function: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
        _ANSWERS[what] = function
        return function

    return register


def procedure_payload(procedure: Procedure) -> dict[str, Any]:
    return {"kind": procedure.kind, "target": procedure.target.name, "params": procedure.params}


def procedure_of(payload: dict[str, Any]) -> Procedure:
    return registry.get(payload["kind"])(get_target(payload["target"]), payload["params"])


def user_of(user_id: int | None):
    return get_user_model().objects.filter(pk=user_id).first() if user_id is not None else None


@shared_task(name="operations.on_worker")
def on_worker(what: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Carry out one call for a web process that cannot reach the target; refusals are answered, not raised."""
    try:
        if what not in _ANSWERS:
            raise ValueError(f"unknown call {what!r}")
        return {"result": _ANSWERS[what](payload)}
    except OperationBusy as exc:
        return {"busy": exc.running.pk if exc.running is not None else None, "message": str(exc)}
    except OperationFailed as exc:
        return {"failed": str(exc)}
    except PermissionDenied as exc:
        return {"denied": str(exc)}


def call(target_name: str, queue: str, what: str, payload: dict[str, Any]) -> Any:
    """Ask the worker of ``queue`` (the target's); OperationFailed when none answers in PORTAL_WORKER_CALL_SECONDS."""
    result = on_worker.apply_async(args=[what, payload], queue=queue)
    try:
        answer = result.get(timeout=settings.WORKER_CALL_SECONDS, propagate=True)
    except CeleryTimeout:
        result.revoke()
        raise OperationFailed(
            f"no worker on queue {queue!r} answered within {settings.WORKER_CALL_SECONDS} s; this web process does "
            "not reach the operations target itself (PORTAL_TARGET_VIA_WORKER), so it needs a running worker, "
            "free of a long operation, to plan and request runs"
        ) from None
    finally:
        result.forget()
    if "busy" in answer:
        raise OperationBusy(OperationRun.objects.filter(pk=answer["busy"]).first(), target_name)
    if "failed" in answer:
        raise OperationFailed(answer["failed"])
    if "denied" in answer:
        raise PermissionDenied(answer["denied"])
    return answer["result"]
