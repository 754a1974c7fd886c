"""The operator's journey at 1366x900: back up from "Back up now" and watch the run page's live progress reach
success, change the data, find the backup in the catalog (no horizontal scrolling), restore it through the typed
confirmation page, read the operation log, and see in the identity audit log who came back and who went: the data
in Neo4j is back as it was backed up. Screenshots of each stage under test-artefacts/.

One backup and one restore in all (each restarts Neo4j), with the real Celery worker.
"""

import pytest
from playwright.sync_api import expect

from operations.models import Backup, OperationRun
from tests.browser.conftest import ARTEFACTS
from tests.operations.conftest import (
    RUN_TIMEOUT,
    graph_snapshot,
    seed_graph,
    target,  # noqa: F401  (the fixture: Neo4j up, new backup files removed after)
)

pytestmark = pytest.mark.worker

WAIT_MS = RUN_TIMEOUT * 1000


def watch_run_succeed(page, run: OperationRun) -> None:
    """The run page updates itself while the run goes on, and reloads once it has succeeded."""
    # Each run takes many seconds (Neo4j stops and starts), so the page is seen running before it is seen done.
    expect(page.locator("#status")).to_have_text("running", timeout=WAIT_MS)
    expect(page.locator("#steps .step-status").first).to_have_text("ok", timeout=WAIT_MS)
    expect(page.locator("#status")).to_have_text("succeeded", timeout=WAIT_MS)
    expect(page.locator(".backup-made").first).to_be_visible()
    steps = list(run.steps.order_by("position"))
    assert {s.status for s in steps} <= {"ok", "skipped"} and steps[0].status == "ok"
    expect(page.locator("#steps .step-status")).to_have_text([s.status for s in steps])
    expect(page.locator("#step-n")).to_have_text(str(len(steps)))
    expect(page.locator("#step-k")).to_have_text(str(len(steps)))
    expect(page.locator("#error")).to_be_hidden()


def test_backup_then_restore_from_the_pages(
    live_server, page, staff_login, celery_worker_process, target, browser_errors
):
    page.set_viewport_size({"width": 1366, "height": 900})  # the laptop screen the console is made to fit
    seed_graph(target, "before")
    backed_up = graph_snapshot(target)
    staff_login()

    page.get_by_role("link", name="Operations: runs, back up now").click()
    page.locator("ul.object-tools").get_by_role("link", name="Back up now").click()
    expect(page.locator("#plan tr.plan-step").first).to_be_visible()
    page.get_by_role("button", name="Back up now").click()
    expect(page.get_by_text("requested; a worker will carry it out")).to_be_visible()
    backup_run = OperationRun.objects.get(kind="backup")
    assert page.url.endswith(f"/{backup_run.pk}/change/")
    watch_run_succeed(page, backup_run)
    backup = Backup.objects.get()
    expect(page.locator(".backup-made")).to_contain_text(backup.file_name)
    assert (target.backup_dir / backup.file_name).stat().st_size == backup.size
    assert graph_snapshot(target) == backed_up

    # The data changes: some removed, some modified, some added.
    target.query("MATCH (n:CredentialedUserIdentity) WHERE n.identifier ENDS WITH '-user-3' DETACH DELETE n")
    target.query("MATCH (n:AlchemicalNetwork) SET n.weight = -1")
    seed_graph(target, "after", n=5)
    assert graph_snapshot(target) != backed_up
    nodes, rels = target.counts()

    page.get_by_role("link", name="Home").click()
    page.get_by_role("link", name="Backups and restore").click()
    row = page.get_by_role("row").filter(has_text=backup.file_name)
    expect(row).to_contain_text("ago")
    assert no_horizontal_scroll(page), "the catalog is wider than a 1366 px screen"
    page.screenshot(path=str(ARTEFACTS / "journey-1-catalog.png"), full_page=True)
    row.get_by_role("link", name="Restore…").click()
    expect(page.locator("#outage-headline")).to_contain_text("Neo4j will be unavailable")
    expect(page.locator("#current-state")).to_contain_text(f"{nodes} nodes and {rels} relationships")
    database = target.connection.database

    # A wrong name is refused on the page (a 400, which the browser reports) and nothing runs.
    page.get_by_label("To confirm, type the database name").fill(database + "x")
    page.get_by_role("button", name="Restore").click()
    expect(page.locator("#restore-error")).to_have_text(f"type the database name {database!r} to confirm the restore")
    assert browser_errors == [
        "console error: Failed to load resource: the server responded with a status of 400 (Bad Request)"
    ]
    browser_errors.clear()
    assert not OperationRun.objects.filter(kind="restore").exists()

    page.get_by_label("To confirm, type the database name").fill(database)
    page.get_by_role("button", name="Restore").click()
    expect(page.get_by_text(f"from {backup.file_name} requested")).to_be_visible()
    restore_run = OperationRun.objects.get(kind="restore")
    watch_run_succeed(page, restore_run)
    assert graph_snapshot(target) == backed_up

    # The operation log on the run page: every step announced in order, and the outcome last.
    steps = list(restore_run.steps.order_by("position"))
    log = page.locator("#log").inner_text().splitlines()
    announced = [line.split(f" of {len(steps)}: ", 1)[1] for line in log if f" of {len(steps)}: " in line]
    assert announced == [s.name for s in steps if s.status == "ok"]
    assert log[-1].endswith("restore succeeded")
    staged = page.locator("#steps tr").filter(has_text="check the staged store").locator(".step-output")
    expect(staged).to_contain_text("user before-user-3 comes back")
    page.screenshot(path=str(ARTEFACTS / "journey-2-restore-run.png"), full_page=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTEFACTS / "tour-2-restore-run.png"))  # the README's, as a screen shows it

    # Who came back and who went, in the identity audit log, in the restorer's name.
    page.get_by_role("link", name="Home").click()
    page.get_by_role("link", name="Identity audit log").first.click()
    results = page.locator("#result_list")
    expect(results).to_contain_text("added user before-user-3")
    expect(results).to_contain_text("removed user after-user-1")
    expect(results.get_by_role("row").filter(has_text="before-user-3")).to_contain_text("alice")
    assert no_horizontal_scroll(page), "the audit log is wider than a 1366 px screen"
    page.screenshot(path=str(ARTEFACTS / "journey-3-audit-log.png"), full_page=True)
    page.get_by_role("link", name="Home").click()
    expect(page.locator("#newest-backup-tile")).to_contain_text("never verified")
    page.screenshot(path=str(ARTEFACTS / "tour-1-home.png"))


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
