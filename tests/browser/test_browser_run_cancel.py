"""With no worker on the operations queue: "Back up now" says so before and after, the run page counts the wait, and
"Cancel this run" ends it and frees the target. No Neo4j restart: nothing runs."""

import os
import re

import pytest
from playwright.sync_api import expect

from operations.models import OperationRun

pytestmark = pytest.mark.worker


def test_a_waiting_backup_is_cancelled_from_its_page(live_server, page, staff_login, settings, celery_worker_process):
    settings.OPERATIONS_QUEUE = queue = f"nobody-listens-{os.getpid()}"
    staff_login()
    page.get_by_role("link", name="Operations: runs, back up now").click()
    page.locator("ul.object-tools").get_by_role("link", name="Back up now").click()
    expect(page.locator("#no-worker")).to_contain_text(f"No worker is consuming queue '{queue}'")
    page.get_by_role("button", name="Back up now").click()
    expect(page.get_by_text("requested; a worker will carry it out")).to_be_visible()
    expect(page.locator("#status")).to_have_text("pending")
    expect(page.locator("#waiting")).to_contain_text("Waiting for a worker for")
    first = int(page.locator("#waiting-seconds").inner_text())
    # The page polls: the wait it shows grows while nobody takes the run.
    expect(page.locator("#waiting-seconds")).not_to_have_text(str(first), timeout=10_000)

    page.get_by_role("button", name="Cancel this run").click()
    run = OperationRun.objects.get()
    expect(page.get_by_text(f"Backup #{run.pk} cancelled; no step had run.")).to_be_visible()
    expect(page.locator("#status")).to_have_text("cancelled")
    expect(page.locator("#step-k")).to_have_text("0")
    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator("#cancelled")).to_have_text(re.compile(r"Cancelled by alice at \d{4}-\d\d-\d\d"))
    run.refresh_from_db()
    assert run.status == "cancelled" and run.cancelled_by_label == "alice"
