"""Least privilege: a web process that cannot reach the operations target (no Docker socket, no Neo4j data directory;
``PORTAL_TARGET_VIA_WORKER``) asks the target's worker instead, through the broker.

- What the status page shows about the target (description, running, crash evidence, Neo4j version) is a *report*
  each worker writes to Redis every sweep (``record_report``) and the web reads (``read_report``); its age is shown.
- Planning and requesting a run (the exact commands need the container's mounts and user) and a migration's
  prechecks are *calls*: the web sends ``operations.on_worker`` to the target's queue and waits for the answer
  (``call``); the worker runs the same functions as everywhere else. Refusals come back as the same exceptions.

The worker itself never has the setting on, so on the worker every function works directly.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.exceptions import PermissionDenied

logger = logging.getLogger(__name__)

REPORT_KEY = "alchemiscale-portal:target-report:{}"


def via_worker() -> bool:
    return bool(getattr(settings, "TARGET_VIA_WORKER", False))


def _redis():
    from .redis_client import client

    return client()


# ---- the report ----------------------------------------------------------------------------------------------
def report_of(target) -> dict[str, Any]:
    """What the status page says about a target and the backups directory, measured here (on a worker that reaches
    them)."""
    from .health import check_backup_dir

    backups = check_backup_dir()
    return {**_target_report(target), "backups": [backups.ok, backups.detail]}


def _target_report(target) -> dict[str, Any]:
    try:
        description, up = target.describe(), target.is_up()
        crashed = None if up else target.crash_evidence()
        try:
            version = target.neo4j_version()  # known without the server running
        except Exception:
            version = ""
        return {"ok": True, "description": description, "up": up, "crashed": crashed, "version": version}
    except Exception as exc:  # the reason is the report
        return {"ok": False, "error": f"{exc.__class__.__name__}: {exc}"}


def record_report(target) -> None:
    payload = {**report_of(target), "at": time.time(), "worker": socket.gethostname()}
    ttl = max(120, 10 * settings.OPERATIONS_SWEEP_INTERVAL)
    _redis().set(REPORT_KEY.format(target.name), json.dumps(payload), ex=ttl)


def read_report(name: str) -> dict[str, Any] | None:
    raw = _redis().get(REPORT_KEY.format(name))
    if raw is None:
        return None
    report = json.loads(raw)
    report["age"] = max(0.0, time.time() - report["at"])
    return report


def record_reports_of_worker(app=None) -> None:
    """On a worker: report on the default target when this worker consumes its queue (called every sweep)."""
    from django.db import close_old_connections

    from .runner import queue_for
    from .targets import get_target

    if via_worker():
        return
    queues = set(app.amqp.queues.consume_from) if app is not None else None
    name = settings.OPERATIONS_TARGET
    if queues is not None and queue_for(name) not in queues:
        return
    try:
        record_report(get_target(name))
    except Exception:
        logger.exception("recording the operations target's report failed")
    finally:
        close_old_connections()


# ---- calls ---------------------------------------------------------------------------------------------------
class WorkerUnavailable(Exception):
    pass


def _procedure(payload: dict[str, Any]):
    from .procedures import PROCEDURES
    from .targets import get_target

    return PROCEDURES[payload["kind"]](get_target(payload["target"]), payload["params"])


def _user(user_id):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(pk=user_id).first() if user_id is not None else None


@shared_task(name="operations.on_worker")
def on_worker(what: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Carry out one call for a web process that cannot reach the target; refusals are answered, not raised."""
    from .runner import OperationBusy, OperationFailed, plan, request

    try:
        if what == "plan":
            procedure = _procedure(payload)
            if payload.get("validate"):
                procedure.validate()
            return {"result": plan(procedure)}
        if what == "request":
            run = request(_procedure(payload), user=_user(payload["user"]), label=payload["label"])
            return {"result": run.pk}
        if what == "migration_status":
            from .targets import get_target
            from .upgrades import registry

            status = registry.status(registry.get(payload["name"]), get_target(payload["target"]))
            return {
                "result": {
                    "applies": status.applies,
                    "reason": status.reason,
                    "prechecks": [[c.name, c.ok, c.detail] for c in status.prechecks],
                    "steps": status.steps,
                }
            }
        raise ValueError(f"unknown call {what!r}")
    except OperationBusy as exc:
        return {"busy": exc.running.pk if exc.running is not None else None, "message": str(exc)}
    except OperationFailed as exc:
        return {"failed": str(exc)}
    except PermissionDenied as exc:
        return {"denied": str(exc)}


def call(target_name: str, what: str, payload: dict[str, Any]) -> Any:
    """Ask the worker of ``target_name``'s queue; OperationFailed when none answers in PORTAL_WORKER_CALL_SECONDS."""
    from celery.exceptions import TimeoutError as CeleryTimeout

    from .models import OperationRun
    from .runner import OperationBusy, OperationFailed, queue_for

    queue = queue_for(target_name)
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


def procedure_payload(procedure) -> dict[str, Any]:
    return {"kind": procedure.kind, "target": procedure.target.name, "params": procedure.params}
