"""What beat sends with nobody watching: due backup schedules, restore drills, the alerts sweep. Task names are the
API (beat's schedule rows name them)."""

from __future__ import annotations

from celery import shared_task

from operations.backups.recheck import recheck_due

from .alerts import sweep
from .drills import drill_if_due
from .schedules import fire


@shared_task(name="operations.restore_drill")
def restore_drill() -> str:
    """Verify the newest backup when a drill is due (drills.py); beat runs it every hour."""
    return drill_if_due()


@shared_task(name="operations.offsite_recheck")
def offsite_recheck() -> str:
    """Re-check this day's share of the off-site copies where they are (operations/backups/recheck.py)."""
    return recheck_due()


@shared_task(name="operations.scheduled_backup")
def scheduled_backup(schedule_id: int) -> str:
    """A backup schedule is due: request the backup, or record why it waits or was skipped (docs/unattended.md).

    The portal's beat decides due schedules itself (beat.py); this task is the same decision for whoever sends it by
    hand (e.g. "Run selected tasks" in django-celery-beat's admin)."""
    return fire(schedule_id)


@shared_task(name="operations.alerts_sweep")
def alerts_sweep() -> dict[str, list[int]]:
    """Open alerts for new problems, resolve cleared ones, retry failed deliveries (beat runs it every minute)."""
    return {event: [a.pk for a in alerts] for event, alerts in sweep().items()}
