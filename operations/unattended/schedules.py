"""What happens when a backup schedule is due, and what beat does between firings (docs/unattended.md).

A due schedule asks for a backup through the same request the admin and ``manage.py backup`` use, so the
one-active-run-per-target rule holds: while another run is active the firing is *skipped* with the reason recorded
(the next firing tries again); it is never queued twice. Outside its maintenance window the firing *waits*
(``due_since``) and beat releases it when the window opens; further firings while it waits change nothing.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from operations.backups import services
from operations.backups.procedures import BackupProcedure
from operations.models import BackupSchedule, OperationRun, RunStatus
from operations.models.schedules import MAX_INTERVAL_DAYS
from operations.runs import contract
from operations.runs import requests as run_requests
from operations.targets import get_target
from security.actors import Actor

logger = logging.getLogger(__name__)


def label(schedule: BackupSchedule) -> str:
    """How a scheduled run's requester is recorded."""
    return Actor.schedule(schedule.name).label


def fire(schedule_id: int, now: dt.datetime | None = None) -> str:
    """The schedule is due (beat fired it, or its window opened): request a backup, wait, or skip; returns the note."""
    now = now or timezone.now()
    schedule = BackupSchedule.objects.filter(pk=schedule_id).first()
    if schedule is None:
        return f"backup schedule #{schedule_id} no longer exists"
    if not schedule.enabled:
        note = "paused; not fired"
        schedule.note(note, at=now)
        return note
    BackupSchedule.objects.filter(pk=schedule.pk).update(last_fired_at=now)
    if not schedule.in_window(now):
        # Only the first firing outside the window marks it waiting; later ones leave the one waiting backup be.
        if BackupSchedule.objects.filter(pk=schedule.pk, due_since__isnull=True).update(due_since=now):
            note = f"due; waiting for the maintenance window {schedule.describe_window()}"
        else:
            note = f"due again while still waiting for the maintenance window {schedule.describe_window()}"
        schedule.note(note, at=now)
        return note
    return _request(schedule, now)


def _request(schedule: BackupSchedule, now: dt.datetime) -> str:
    BackupSchedule.objects.filter(pk=schedule.pk).update(due_since=None)
    try:
        run = run_requests.request(
            BackupProcedure(get_target(), {"schedule_id": schedule.pk}), user=None, label=label(schedule)
        )
    except contract.OperationBusy as exc:
        note = f"skipped: {exc}"
        schedule.note(note, at=now)
        return note
    except Exception as exc:  # refused (target misconfigured, ...): recorded, and the next firing tries again
        note = f"not requested: {exc}"
        schedule.note(note, at=now)
        return note
    BackupSchedule.objects.filter(pk=schedule.pk).update(last_run=run)
    note = f"requested backup #{run.pk}"
    schedule.note(note, run_id=run.pk, at=now)
    return note


def release_waiting(now: dt.datetime | None = None) -> list[str]:
    """Fire the schedules whose due backup waited for a maintenance window that is now open (called by beat)."""
    now = now or timezone.now()
    notes = []
    for schedule in BackupSchedule.objects.filter(due_since__isnull=False, enabled=True):
        if not schedule.in_window(now):
            continue
        # Take it with a conditional update so that a second caller does not request it too.
        if BackupSchedule.objects.filter(pk=schedule.pk, due_since=schedule.due_since).update(due_since=None):
            notes.append(_request(schedule, now))
    return notes


def prune_after_backups() -> list[OperationRun]:
    """Ask for a prune after each successful backup of a schedule that says so (called by beat). While another run
    is active the prune waits for the next look."""
    requested = []
    for schedule in BackupSchedule.objects.filter(prune_after=True, last_run__status=RunStatus.SUCCEEDED).exclude(
        pruned_after_run_id=F("last_run_id")
    ):
        try:
            run = services.request_prune(label=f"{label(schedule)} (after backup #{schedule.last_run_id})")
        except contract.OperationBusy:
            continue
        except Exception as exc:
            logger.warning("prune after backup #%s not requested: %s", schedule.last_run_id, exc)
            continue
        BackupSchedule.objects.filter(pk=schedule.pk).update(pruned_after_run_id=schedule.last_run_id)
        schedule.note(f"requested prune #{run.pk} after backup #{schedule.last_run_id}", run_id=run.pk)
        requested.append(run)
    return requested


def next_due(schedule: BackupSchedule, now: dt.datetime | None = None) -> dt.datetime | None:
    """When beat will next fire the schedule (an estimate from its last firing); None when paused."""
    task = schedule.periodic_task
    if not schedule.enabled or task is None or not task.enabled:
        return None
    now = now or timezone.now()
    # beat saves last_run_at only every few minutes; the schedule's own record of its last firing is fresher.
    known = [t for t in (task.last_run_at, schedule.last_fired_at, task.date_changed) if t is not None]
    last = max(known) if known else now
    try:
        remaining = task.schedule.remaining_estimate(last)
    except Exception:
        return None
    return max(now + remaining, now)


def next_due_backup(now: dt.datetime | None = None) -> tuple[BackupSchedule, dt.datetime] | None:
    """The enabled schedule due soonest, and when."""
    dues = [
        (s, d)
        for s in BackupSchedule.objects.filter(enabled=True).select_related("periodic_task")
        if (d := next_due(s, now)) is not None
    ]
    return min(dues, key=lambda pair: pair[1]) if dues else None


def pause(schedules, enabled: bool) -> int:
    """Pause or resume schedules (each keeps its beat task in step)."""
    n = 0
    with transaction.atomic():
        for schedule in schedules:
            if schedule.enabled != enabled:
                schedule.enabled = enabled
                schedule.save()
                n += 1
    return n


LOCK_EXPIRED_NAME = "identity lock-expired (user and compute)"
ALERTS_NAME = "alerts sweep"
DRILL_NAME = "restore drill"
FLEET_SAMPLE_NAME = "fleet sample"


def broken_tasks(now: dt.datetime | None = None) -> list[tuple[PeriodicTask, str]]:
    """Enabled beat tasks whose schedule cannot be worked out (an interval no timedelta holds, a crontab field out of
    range), with the reason: beat skips them (beat.py), the status page and the alerts sweep name them."""
    now = now or timezone.now()
    broken = []
    for task in PeriodicTask.objects.filter(enabled=True).select_related("interval", "crontab", "solar", "clocked"):
        try:
            task.schedule.remaining_estimate(now)
        except Exception as exc:  # whatever the row holds must not stop the others
            broken.append((task, f"{exc.__class__.__name__}: {exc}"))
    return broken


def describe_broken(task: PeriodicTask, reason: str) -> str:
    return (
        f"beat task {task.name!r} cannot be scheduled ({reason}); beat skips it. Edit its schedule (at most "
        f"{MAX_INTERVAL_DAYS} days between backups) or disable it"
    )


def ensure_default_schedules(**_kwargs) -> None:
    """post_migrate: the alerts sweep runs every minute, the restore drill looks every hour whether one is due, the
    fleet is sampled every PORTAL_COMPUTE_SAMPLE_MINUTES (compute/history.py), and expiry bites without cron.
    alchemiscale never checks ``expires``, so by default beat runs ``identity lock-expired`` for both types every 5
    minutes. Created when missing; once there, staff's changes
    (another interval, paused) are kept. Pause it rather than delete it: ``migrate`` creates a missing one again."""
    for name, task, minutes, description in (
        (
            LOCK_EXPIRED_NAME,
            "identities.lock_expired",
            5,
            "manage.py identity lock-expired -t user and -t compute, on a schedule",
        ),
        (
            ALERTS_NAME,
            "operations.alerts_sweep",
            1,
            "open alerts for new problems, resolve cleared ones (docs/unattended.md)",
        ),
        (
            DRILL_NAME,
            "operations.restore_drill",
            60,
            "verify the newest backup when PORTAL_RESTORE_DRILL_DAYS have passed since the last drill "
            "(docs/verification.md)",
        ),
        (
            FLEET_SAMPLE_NAME,
            "compute.sample_fleet",
            settings.COMPUTE_SAMPLE_MINUTES,
            "count the compute fleet for its pages and its 30-day history (docs/compute.md)",
        ),
    ):
        if PeriodicTask.objects.filter(task=task).exists():
            continue
        every, _ = IntervalSchedule.objects.get_or_create(every=minutes, period=IntervalSchedule.MINUTES)
        PeriodicTask.objects.create(name=name, task=task, interval=every, description=description)
