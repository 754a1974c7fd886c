"""Set it and forget it, in the browser: staff add a backup schedule, see beat fire it, and see the run and the
alert of a deliberately failing one (its worker's backups directory is a file, so the backup fails at its first
step, before Neo4j is stopped: no Neo4j restart). The alert also arrives by e-mail on a real SMTP server."""

from __future__ import annotations

import os
import re
import time

import pytest
from aiosmtpd.controller import Controller
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from playwright.sync_api import expect

from operations.models import AlertSettings, OperationRun, RetentionPolicy
from operations.unattended.schedules import ALERTS_NAME
from tests.beat_fixture import beat_process
from tests.operations.conftest import dedicated_worker
from tests.operations.test_alerts import Inbox, free_port

pytestmark = pytest.mark.worker


def test_a_schedule_fires_and_its_failing_backup_shows_a_run_and_an_alert(
    live_server, page, staff_login, settings, tmp_path
):
    queue = f"scheduled-{os.getpid()}"
    settings.OPERATIONS_QUEUE = queue
    not_a_dir = tmp_path / "backups-is-a-file"
    not_a_dir.write_text("")
    inbox, port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    # Only the failed run is a problem here; the alerts sweep runs every 2 s on the failing worker's queue.
    policy = RetentionPolicy.current()
    policy.stale_after_hours = 0
    policy.save()
    AlertSettings.objects.update_or_create(
        pk=1, defaults={"min_free_mib": 0, "expiring_within_days": 0, "recipients": "ops@example.org"}
    )
    every_2s, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(name=ALERTS_NAME).update(interval=every_2s, queue=queue)
    worker_env = {
        "PORTAL_BACKUP_DIR": str(not_a_dir / "backups"),
        "PORTAL_OPERATIONS_QUEUE": queue,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
        "DEFAULT_FROM_EMAIL": "portal@example.org",
    }
    try:
        with dedicated_worker("failing", queue, env=worker_env), beat_process(env={"PORTAL_OPERATIONS_QUEUE": queue}):
            staff_login()
            page.get_by_role("link", name="Backup schedules").click()
            page.get_by_role("link", name="Add backup schedule").click()
            page.get_by_label("Name").fill("every few seconds")
            page.get_by_label("Timing").select_option("interval")
            page.get_by_label("Every").fill("3")
            page.get_by_label("Period").select_option("seconds")
            page.get_by_role("button", name="Save", exact=True).click()
            expect(page.locator("ul.messagelist")).to_contain_text("was added successfully")
            row = page.locator("#result_list tbody tr", has_text="every few seconds")
            expect(row.locator(".next-due")).to_have_text(re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"))

            # Beat fires it; the list shows the backup run it requested and how it went.
            deadline = time.monotonic() + 90
            while not OperationRun.objects.filter(
                requested_by_label="schedule:every few seconds", status="failed"
            ).exists():
                assert time.monotonic() < deadline, "the scheduled backup did not run and fail within 90 s"
                time.sleep(0.5)
            page.reload()
            row = page.locator("#result_list tbody tr", has_text="every few seconds")
            expect(row.locator(".last-outcome")).to_contain_text("failed")
            row.locator("input.action-select").check()
            page.locator("select[name=action]").select_option("pause_selected")
            page.get_by_role("button", name="Go").click()
            expect(page.locator("ul.messagelist")).to_contain_text("Paused 1 schedule(s).")

            run = OperationRun.objects.filter(requested_by_label="schedule:every few seconds").order_by("pk").first()
            row = page.locator("#result_list tbody tr", has_text="every few seconds")
            row.get_by_role("link", name=re.compile(r"run #\d+")).click()
            expect(page.locator("#status")).to_have_text("failed")
            expect(page.locator("#error")).to_contain_text("cannot be written")

            # The alert: listed in the admin, and sent by e-mail.
            deadline = time.monotonic() + 60
            while not inbox.messages:
                assert time.monotonic() < deadline, "no alert e-mail within 60 s"
                time.sleep(0.5)
            page.goto(f"{live_server.url}/admin/")
            page.get_by_role("link", name="Alerts", exact=True).click()
            alert_row = page.locator("#result_list tbody tr", has_text=re.compile(r"backup #\d+ failed on local"))
            expect(alert_row).to_have_count(1)
            expect(alert_row.locator(".alert-open")).to_have_text("open")
            assert re.fullmatch(r"\[alchemiscale-portal\] backup #\d+ failed on local", inbox.subjects()[0])
            assert run is not None
    finally:
        smtp.stop()
