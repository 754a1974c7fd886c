"""The worker's report on a target, kept in Redis for web processes that do not reach the target themselves
(PORTAL_TARGET_VIA_WORKER): each worker writes it every sweep (operations/runs/reports.py), the status page and
:class:`~operations.targets.reported.ReportedTarget` read it, with its age."""

from __future__ import annotations

import json
import time
from typing import Any

from django.conf import settings

from .. import redis_client

REPORT_KEY = "alchemiscale-portal:target-report:{}"


def via_worker() -> bool:
    """This process reaches the target through its worker (PORTAL_TARGET_VIA_WORKER)."""
    return bool(getattr(settings, "TARGET_VIA_WORKER", False))


def store_report(name: str, payload: dict[str, Any], ttl: int) -> None:
    redis_client.client().set(REPORT_KEY.format(name), json.dumps(payload), ex=ttl)


def read_report(name: str) -> dict[str, Any] | None:
    raw = redis_client.client().get(REPORT_KEY.format(name))
    if raw is None:
        return None
    report = json.loads(raw)
    report["age"] = max(0.0, time.time() - report["at"])
    return report


def forget_report(name: str) -> None:
    redis_client.client().delete(REPORT_KEY.format(name))
