"""Backup schedules: beat really fires an interval schedule into a real worker; a due backup outside its
maintenance window waits, one while another run is active is skipped with the reason, never queued twice; the
status page and the schedule list say whether beat is alive and when the next backup is due."""

from __future__ import annotations

import datetime as dt
import html
import re
import time

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from operations.models import Backup, BackupSchedule, OperationRun
from operations.runs import requests as run_requests
from operations.unattended import schedules
from security import roles
from tests.beat_fixture import beat_process

from .conftest import wait_for
from .test_run_cancel import nobody_listens  # noqa: F401  (fixture)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def operator_client(client, django_user_model):
    user = django_user_model.objects.create_user("olga", "olga@example.org", "olga-password-1", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.OPERATOR))
    client.force_login(user)
    return client


def window_around(now: dt.datetime, inside: bool) -> tuple[dt.time, dt.time]:
    """A one-hour maintenance window (UTC) that contains ``now``, or one that opens two hours from now."""
    start = now - dt.timedelta(minutes=30) if inside else now + dt.timedelta(hours=2)
    return start.time().replace(microsecond=0), (start + dt.timedelta(hours=1)).time().replace(microsecond=0)


def test_operator_creates_a_schedule_in_the_admin_and_it_owns_its_beat_task(operator_client):
    response = operator_client.post(
        reverse("admin:operations_backupschedule_add"),
        {
            "name": "nightly",
            "enabled": "on",
            "timing": "crontab",
            "period": "hours",
            "minute": "15",
            "hour": "2",
            "day_of_month": "*",
            "month_of_year": "*",
            "day_of_week": "*",
            "timezone": "Europe/Berlin",
            "window_start": "01:00",
            "window_end": "05:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    schedule = BackupSchedule.objects.get(name="nightly")
    task = schedule.periodic_task
    assert task.task == "operations.scheduled_backup" and task.enabled
    assert (task.crontab.minute, task.crontab.hour, str(task.crontab.timezone)) == ("15", "2", "Europe/Berlin")

    # A bad crontab field is refused with the field named; half a window too.
    response = operator_client.post(
        reverse("admin:operations_backupschedule_change", args=[schedule.pk]),
        {
            "name": "nightly",
            "enabled": "on",
            "timing": "crontab",
            "period": "hours",
            "minute": "75",
            "hour": "2",
            "day_of_month": "*",
            "month_of_year": "*",
            "day_of_week": "*",
            "timezone": "UTC",
            "window_start": "01:00",
        },
    )
    assert response.status_code == 200 and "errornote" in response.content.decode()

    listing = operator_client.get(reverse("admin:operations_backupschedule_changelist")).content.decode()
    assert re.search(r'<span class="next-due">[0-9-]+ [0-9:]+ UTC</span>', listing)
    BackupSchedule.objects.filter(pk=schedule.pk).update(due_since=timezone.now())
    assert (
        "waiting for the window since"
        in operator_client.get(reverse("admin:operations_backupschedule_changelist")).content.decode()
    )

    # Pausing (the list's action) pauses the beat task as well; deleting the schedule removes it.
    operator_client.post(
        reverse("admin:operations_backupschedule_changelist"),
        {"action": "pause_selected", "_selected_action": [schedule.pk]},
    )
    task.refresh_from_db()
    assert not task.enabled
    listing = html.unescape(operator_client.get(reverse("admin:operations_backupschedule_changelist")).content.decode())
    assert "paused" in listing and "Schedules do not fire now: celery beat is not running" in listing
    schedule.delete()
    assert not PeriodicTask.objects.filter(pk=task.pk).exists()


@pytest.mark.unit
def test_the_lock_expired_schedule_exists_by_default():
    task = PeriodicTask.objects.get(task="identities.lock_expired")
    assert task.enabled and (task.interval.every, task.interval.period) == (5, "minutes")


def test_outside_the_window_a_due_backup_waits_and_is_released_once_when_it_opens(nobody_listens):
    now = timezone.now()
    start, end = window_around(now, inside=False)
    schedule = BackupSchedule.objects.create(
        name="windowed", timing="interval", every=1, period="hours", window_start=start, window_end=end
    )
    assert schedules.fire(schedule.pk, now).startswith("due; waiting for the maintenance window")
    assert schedules.fire(schedule.pk, now).startswith("due again while still waiting")
    assert not OperationRun.objects.exists()
    assert schedules.release_waiting(now) == []  # still closed

    schedule.window_start, schedule.window_end = window_around(now, inside=True)
    schedule.save()
    notes = schedules.release_waiting(now)
    assert len(notes) == 1 and notes[0].startswith("requested backup"), notes
    run = OperationRun.objects.get()
    assert notes == [f"requested backup #{run.pk}"]
    # (the backup also records, when requested, whether it takes the snapshot path: docs/outage.md)
    assert run.requested_by_label == "schedule:windowed" and run.params["schedule_id"] == schedule.pk
    assert schedules.release_waiting(now) == []  # released once

    # Due again while that backup is still pending: skipped, with the active run named; never a second run.
    note = schedules.fire(schedule.pk, now)
    assert note.startswith("skipped: another operation is already active") and f"#{run.pk}" in note
    assert OperationRun.objects.count() == 1
    schedule.refresh_from_db()
    notes = [e["note"] for e in schedule.history]
    assert len(notes) == 4 and notes[0].startswith("due; waiting") and notes[1].startswith("due again")
    assert notes[2] == f"requested backup #{run.pk}" and notes[3].startswith("skipped")
    run_requests.cancel(run.pk, "test")


@pytest.fixture
def local_target(settings):
    settings.OPERATIONS_TARGET = "local"
    yield


def test_beat_fires_an_interval_schedule_into_a_real_worker(local_target, alice_client, celery_worker_process):
    with beat_process():
        status = html.unescape(alice_client.get(reverse("system-status")).content.decode())
        assert re.search(r'class="schedule-check green" data-component="Scheduler \(celery beat\)"', status)
        assert "no backup schedule is enabled" in status

        schedule = BackupSchedule.objects.create(name="every few seconds", timing="interval", every=3, period="seconds")
        status = html.unescape(alice_client.get(reverse("system-status")).content.decode())
        assert "by schedule 'every few seconds'" in status

        deadline = time.monotonic() + 120
        while not OperationRun.objects.filter(requested_by_label="schedule:every few seconds").exists():
            assert time.monotonic() < deadline, "beat did not fire the schedule within 120 s"
            time.sleep(0.5)
        run = OperationRun.objects.get(requested_by_label="schedule:every few seconds")
        # While the backup runs the schedule keeps falling due: each firing is skipped, never queued.
        deadline = time.monotonic() + 120
        while not any(e["note"].startswith("skipped") for e in BackupSchedule.objects.get(pk=schedule.pk).history):
            assert time.monotonic() < deadline, "no firing was recorded as skipped while the backup ran"
            time.sleep(0.5)
        schedule.enabled = False
        schedule.save()
        run = wait_for(run)
        assert run.status == "succeeded", run.error
        assert Backup.objects.get(made_by_run=run).requested_by_label == "schedule:every few seconds"
        assert OperationRun.objects.filter(requested_by_label="schedule:every few seconds").count() == 1

        listing = html.unescape(
            alice_client.get(reverse("admin:operations_backupschedule_changelist")).content.decode()
        )
        assert f"run #{run.pk}</a> succeeded; last due: " in listing and "Schedules do not fire now" not in listing
    status = html.unescape(alice_client.get(reverse("system-status")).content.decode())
    assert re.search(r'class="schedule-check red" data-component="Scheduler \(celery beat\)"', status)
    assert "celery beat is not running" in status


def test_the_scheduled_lock_expired_task_disables_expired_identities_of_both_types():
    from identities import services as identity_services
    from identities.audit import Actor
    from identities.models import AuditEntry
    from identities.nodes import COMPUTE, USER
    from identities.tasks import lock_expired

    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    actor = Actor("staff", "alice")
    identity_services.add_identity(USER, "gone-user", "k", actor, expires=past)
    identity_services.add_identity(COMPUTE, "gone-compute", "k", actor, expires=past)
    identity_services.add_identity(USER, "current", "k", actor, expires=past + dt.timedelta(days=9))
    assert lock_expired.apply().get() == {"user": ["gone-user"], "compute": ["gone-compute"]}
    assert set(AuditEntry.objects.filter(actor="celery-beat schedule").values_list("identifier", flat=True)) == {
        "gone-user",
        "gone-compute",
    }
    assert lock_expired.apply().get() == {"user": [], "compute": []}


@pytest.mark.unit
def test_a_window_is_read_in_the_schedules_time_zone_and_may_span_midnight():
    schedule = BackupSchedule(
        name="w", timezone="America/New_York", window_start=dt.time(22, 0), window_end=dt.time(4, 0)
    )
    utc = dt.UTC
    assert schedule.in_window(dt.datetime(2026, 7, 1, 3, 0, tzinfo=utc))  # 23:00 in New York (EDT)
    assert schedule.in_window(dt.datetime(2026, 7, 1, 7, 59, tzinfo=utc))  # 03:59
    assert not schedule.in_window(dt.datetime(2026, 7, 1, 8, 0, tzinfo=utc))  # 04:00
    assert not schedule.in_window(dt.datetime(2026, 7, 1, 1, 59, tzinfo=utc))  # 21:59
