"""The run machinery's lines on the status page: the Celery workers, the backups directory, the operations target.

Registered in the app's ``ready()`` with :mod:`operations.checks`; the status page lists them in order.
"""

from __future__ import annotations

import os
import shutil

from django.conf import settings

from ..checks import Check
from ..humanize import human_size
from ..models import OperationRun
from ..targets import get_target, reports, via_worker
from .requests import queue_for
from .roll_call import worker_queues

MIN_FREE_BYTES = 1 << 30


def check_workers() -> Check:
    workers = worker_queues()
    if workers is None:
        return Check("Celery workers", False, "cannot ask the broker for workers")
    if not workers:
        return Check(
            "Celery workers",
            False,
            "no worker answered within 1 s; start one with `celery -A alchemiscale_portal worker`",
        )
    names = sorted(workers)
    queue = queue_for(settings.OPERATIONS_TARGET)
    takers = [name for name in names if queue in workers[name]]
    if not takers:
        return Check(
            "Celery workers",
            False,
            f"{len(names)} alive ({', '.join(names)}), but none consumes the "
            f"operations queue {queue!r}: operation runs wait until one does",
        )
    return Check(
        "Celery workers",
        True,
        f"{len(names)} alive: {', '.join(names)}; queue {queue!r} consumed by {', '.join(takers)}",
    )


def check_backup_dir() -> Check:
    if via_worker():  # this process may see the directory read-only: the worker's view is what counts
        report = reports.read_report(settings.OPERATIONS_TARGET)
        if report is None or "backups" not in report:
            return Check("Backups directory", False, "no worker has reported on the backups directory yet")
        ok, detail = report["backups"]
        return Check(
            "Backups directory", ok, f"{detail} (reported by worker {report['worker']} {report['age']:.0f} s ago)"
        )
    path = settings.BACKUP_DIR
    if not path.is_dir():
        return Check("Backups directory", False, f"{path} does not exist")
    if not os.access(path, os.W_OK | os.X_OK):
        return Check("Backups directory", False, f"{path} is not writable by the portal")
    free = shutil.disk_usage(path).free
    if free < MIN_FREE_BYTES:
        return Check("Backups directory", False, f"only {human_size(free)} free in {path}")
    return Check("Backups directory", True, f"{human_size(free)} free in {path}")


def check_target() -> Check:
    """The Neo4j service operations act on (local process or compose container), as the worker will find it."""
    try:
        target = get_target()
        description, up = target.describe(), target.is_up()
        crashed = None if up else target.crash_evidence()
    except Exception as exc:  # a missing container or an unreachable Docker engine is the reason shown
        return Check("Operations target", False, f"{settings.OPERATIONS_TARGET}: {exc}")
    detail = f"{description}: {'running' if up else 'not running'}"
    if crashed:
        detail += f"; it CRASHED: {crashed}"
    last = OperationRun.objects.filter(target=target.name).exclude(started_at=None).order_by("-started_at").first()
    if last is not None and last.state.get("neo4j_crashed"):
        detail += (
            f". The last operation ({last.kind} #{last.pk}, {last.started_at:%Y-%m-%d %H:%M} UTC) found "
            f"Neo4j crashed ({last.state['neo4j_crashed']}) and started it again"
        )
    return Check("Operations target", up, detail)
