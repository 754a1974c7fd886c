"""A schedule whose interval cannot be represented (``every=99999999999`` days) crashed celery beat with an
OverflowError, again at every restart while the row existed: no scheduled backups, no alerts sweep. Now the admin's
form and the model refuse such an interval with the bound in words, and beat skips a row it cannot load (one made
before the bound, or through django-celery-beat's own pages), says why on the schedule and the status page, and an
alert is opened by the sweep."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from alchemiscale_portal.celery import app
from operations.checks import run_all
from operations.models import Alert, BackupSchedule
from operations.unattended import alerts, schedules
from operations.unattended.beat import PortalScheduler

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


@pytest.mark.parametrize(
    "every, period",
    [(99999999999, "days"), (0, "hours"), (367, "days"), (366 * 24 + 1, "hours"), (10**12, "seconds")],
)
def test_an_interval_out_of_bounds_is_refused_with_the_bound(every, period):
    schedule = BackupSchedule(name="too far", timing=BackupSchedule.Timing.INTERVAL, every=every, period=period)
    with pytest.raises(ValidationError) as refused:
        schedule.full_clean()
    assert "every" in refused.value.message_dict
    assert any("366 days" in m or "at least 1" in m for m in refused.value.message_dict["every"])


def test_intervals_within_the_bound_are_kept():
    for every, period in ((366, "days"), (1, "seconds"), (366 * 24, "hours")):
        BackupSchedule(
            name=f"ok {every}", timing=BackupSchedule.Timing.INTERVAL, every=every, period=period
        ).full_clean()


def _broken_row() -> BackupSchedule:
    """A schedule whose beat task got an interval no timedelta holds (written around the form, as an older portal or
    django-celery-beat's own admin could)."""
    schedule = BackupSchedule.objects.create(
        name="nightly", timing=BackupSchedule.Timing.INTERVAL, every=1, period="days"
    )
    huge = IntervalSchedule.objects.create(every=99999999999, period="days")
    PeriodicTask.objects.filter(pk=schedule.periodic_task_id).update(interval=huge)
    return schedule


def test_beat_skips_a_row_it_cannot_load_and_says_why():
    schedule = _broken_row()
    scheduler = PortalScheduler(app=app, lazy=True)
    loaded = scheduler.all_as_schedule()  # raised OverflowError before
    assert schedule.periodic_task.name not in loaded
    assert loaded and all(name != schedule.periodic_task.name for name in loaded)  # the other rows still load
    schedule.refresh_from_db()
    assert "cannot be scheduled" in schedule.last_note and "OverflowError" in schedule.last_note

    broken = schedules.broken_tasks()
    assert [t.name for t, _ in broken] == [schedule.periodic_task.name]
    (line,) = [c for c in run_all("unattended") if c.name == "Backup schedules"]
    assert not line.ok and "nightly" in line.detail


def test_the_sweep_opens_an_alert_for_a_row_beat_cannot_load():
    _broken_row()
    opened = alerts.sweep()["opened"]
    assert [a.kind for a in opened if a.kind == Alert.Kind.SCHEDULE] == [Alert.Kind.SCHEDULE]
    (alert,) = Alert.objects.filter(kind=Alert.Kind.SCHEDULE, resolved_at=None)
    assert "nightly" in alert.subject + alert.message
