"""Restore drills: the newest backup is verified in a scratch Neo4j every ``PORTAL_RESTORE_DRILL_DAYS`` days
(docs/verification.md).

Beat runs ``operations.restore_drill`` every hour (created by ``ensure_default_schedules`` like the other default
schedules); it asks for a verify run only when the last drill was requested longer ago than the interval. A drill
is an ordinary verify run requested as ``drill``, so it takes the target's one active run: while another run is
active the drill is skipped and tried again the next hour. A drill that fails is a failed verify run, which the
alerts sweep reports (``run:<target>:verify``), and the status page shows it red.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from operations.backups import offsite, services
from operations.models import Backup, BackupCopy, OperationRun, RunStatus
from operations.runs import contract
from security.actors import Actor

LABEL = Actor.drill().label
BAD = (RunStatus.FAILED, RunStatus.ERRORED, RunStatus.INTERRUPTED)


def last_drill(target: str | None = None, offsite: bool = False) -> OperationRun | None:
    """The newest drill (the local dump's, or with ``offsite`` the off-site copy's) on the target."""
    runs = (
        OperationRun.objects.filter(
            kind="verify", requested_by_label=LABEL, target=target or settings.OPERATIONS_TARGET
        )
        .exclude(status=RunStatus.CANCELLED)
        .order_by("-requested_at", "-pk")
    )
    # SQLite cannot search JSON: the few drill runs are read in Python.
    return next(
        (
            r
            for r in runs.only("pk", "params", "status", "requested_at", "error")
            if bool((r.params or {}).get("from_offsite")) == offsite
        ),
        None,
    )


def newest_backup(target: str | None = None) -> Backup | None:
    return (
        Backup.objects.filter(target=target or settings.OPERATIONS_TARGET)
        .exclude(neo4j_version__startswith="4.")
        .order_by("-created_at", "-pk")
        .first()
    )


def drill_if_due(now: dt.datetime | None = None) -> str:
    """Request a verify run of the newest backup when a drill is due, else of the newest off-site copy when the
    off-site drill is; what was done, in words."""
    local = local_drill_if_due(now)
    if local.startswith("requested") or not offsite.configured():
        return local
    return f"{local}; off-site: {offsite_drill_if_due(now)}"


def offsite_drill_if_due(now: dt.datetime | None = None) -> str:
    """Every ``PORTAL_OFFSITE_DRILL_DAYS``: fetch the newest good off-site copy into a scratch store and verify it
    there (the restore path of a lost host, short of replacing the live store)."""
    days = settings.OFFSITE_DRILL_DAYS
    if days <= 0:
        return "off-site drills are off (PORTAL_OFFSITE_DRILL_DAYS=0)"
    now = now or timezone.now()
    last = last_drill(offsite=True)
    if last is not None and now - last.requested_at < dt.timedelta(days=days):
        return f"not due: the last off-site drill was #{last.pk} at {last.requested_at:%Y-%m-%d %H:%M} UTC"
    backup = (
        Backup.objects.filter(target=settings.OPERATIONS_TARGET, copies__state=BackupCopy.State.OK)
        .exclude(neo4j_version__startswith="4.")
        .order_by("-created_at", "-pk")
        .first()
    )
    if backup is None:
        return "no off-site copy to drill on"
    return request_drill(backup, from_offsite=True)


def request_drill(backup: Backup, *, from_offsite: bool = False) -> str:
    try:
        run = services.request_verify(backup, None, label=LABEL, from_offsite=from_offsite)
    except contract.OperationBusy as exc:
        return f"skipped (tried again within the hour): {exc}"
    except Exception as exc:
        return f"not requested: {exc}"
    return f"requested drill #{run.pk}: verify {'the off-site copy of ' if from_offsite else ''}{backup.file_name}"


def local_drill_if_due(now: dt.datetime | None = None) -> str:

    days = settings.RESTORE_DRILL_DAYS
    if days <= 0:
        return "restore drills are off (PORTAL_RESTORE_DRILL_DAYS=0)"
    now = now or timezone.now()
    last = last_drill()
    if last is not None and now - last.requested_at < dt.timedelta(days=days):
        return f"not due: the last drill was #{last.pk} at {last.requested_at:%Y-%m-%d %H:%M} UTC"
    backup = newest_backup()
    if backup is None:
        return "no backup to drill on"
    return request_drill(backup)


def drill_status() -> tuple[bool, str]:
    """(ok, words) for the status page: red when the last drill failed."""
    days = settings.RESTORE_DRILL_DAYS
    if days <= 0:
        return True, "restore drills are off (PORTAL_RESTORE_DRILL_DAYS=0)"
    last = last_drill()
    if last is None:
        return True, f"no drill yet; the newest backup is verified every {days} day(s)"
    when = f"#{last.pk} requested {last.requested_at:%Y-%m-%d %H:%M} UTC"
    if last.status in BAD:
        reason = (last.error or "").strip().splitlines()
        return False, f"the last drill FAILED ({when}): {reason[0] if reason else last.status}"
    if last.status == RunStatus.SUCCEEDED:
        return True, f"the last drill passed ({when}); every {days} day(s)"
    return True, f"a drill is {last.status} ({when})"
