"""System status: is each component the portal depends on reachable, and why not."""

from __future__ import annotations

import dataclasses
import os
import shutil
from typing import Any

from django.conf import settings

from alchemiscale_portal.celery import app as celery_app
from identities import store
from security.masking import mask_url

from . import redis_client, roll_call
from .procedures.dumps import human_size

MIN_FREE_BYTES = 1 << 30


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def check_neo4j() -> Check:
    try:
        version, edition = store.server_version()
        nodes = store.node_count()
    except Exception as exc:  # any failure to talk to the store is the reason shown
        return Check(
            "Neo4j", False, mask_url(f"{mask_url(settings.NEO4J_URL)} not reachable: {exc.__class__.__name__}: {exc}")
        )
    return Check(
        "Neo4j",
        True,
        f"Neo4j {version} ({edition}) at {mask_url(settings.NEO4J_URL)}, database "
        f"{settings.NEO4J_DBNAME!r}, {nodes} nodes",
    )


def check_redis() -> Check:
    try:
        info = redis_client.client().info("server")
    except Exception as exc:
        return Check("Redis", False, mask_url(f"{mask_url(settings.REDIS_URL)} not reachable: {exc}"))
    return Check("Redis", True, f"Redis {info.get('redis_version')} at {mask_url(settings.REDIS_URL)}")


def _active_queues(limit: int | None) -> dict[str, Any]:
    return celery_app.control.inspect(timeout=1.0, limit=limit).active_queues() or {}


def worker_queues() -> dict[str, list[str]] | None:
    """Each live worker and the queues it consumes (they answer within 1 s); None when the broker cannot be asked.

    Celery's broadcast waits its whole timeout unless told how many answers to expect. The roll call tells: when
    exactly the workers on it answer, that is the answer at once; when fewer answer (one died), the full second has
    passed and every live worker has answered; when another worker's answer came among them, ask again without a
    limit."""
    try:
        expected = roll_call.names()
        replies = _active_queues(len(expected) or None)
        if expected and len(replies) >= len(expected) and set(replies) != expected:
            replies = _active_queues(None)
    except Exception:
        return None
    return {worker: sorted(q.get("name", "") for q in queues or []) for worker, queues in replies.items()}


def check_workers() -> Check:
    from .runner import queue_for

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
    from . import remote

    if remote.via_worker():  # this process may see the directory read-only: the worker's view is what counts
        report = remote.read_report(settings.OPERATIONS_TARGET)
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
    from .models import OperationRun
    from .targets import get_target

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


def all_checks() -> list[Check]:
    return [check_neo4j(), check_redis(), check_workers(), check_backup_dir(), check_target()]
