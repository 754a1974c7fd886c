"""On a worker: what the status page says about the target and the backups directory, measured where they can be
reached, written every sweep for web processes that cannot reach them (PORTAL_TARGET_VIA_WORKER; read through
operations/targets/reports.py)."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

from django.conf import settings
from django.db import close_old_connections

from ..targets import Target, get_target, reports, via_worker
from .checks import check_backup_dir
from .requests import queue_for

logger = logging.getLogger(__name__)


def report_of(target: Target) -> dict[str, Any]:
    """What the status page says about a target and the backups directory, measured here."""
    backups = check_backup_dir()
    return {**_target_report(target), "backups": [backups.ok, backups.detail]}


def _target_report(target: Target) -> dict[str, Any]:
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


def record_report(target: Target) -> None:
    payload = {**report_of(target), "at": time.time(), "worker": socket.gethostname()}
    reports.store_report(target.name, payload, ttl=max(120, 10 * settings.OPERATIONS_SWEEP_INTERVAL))


def record_reports_of_worker(app=None) -> None:
    """On a worker: report on the default target when this worker consumes its queue (called every sweep)."""
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
