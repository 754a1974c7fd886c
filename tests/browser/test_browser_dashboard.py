"""The dashboard in a real browser, from the admin's front page, in the light and the dark theme; the front page of a
fresh instance."""

import datetime as dt

from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from playwright.sync_api import expect

from operations.models import Backup, OperationRun
from tests.browser.conftest import ARTEFACTS
from tests.glance_support import ended_run, finished_backup
from tests.identity_support import seed_plain


def test_dashboard_from_the_front_page(live_server, page, staff_login, browser):
    now = timezone.now()
    for i in range(6):
        finished_backup(
            now - dt.timedelta(days=7 * (5 - i)),
            size=(40 + 9 * i) * 1024 * 1024,
            seconds=60 + 15 * i,
            outage=40 + 10 * i,
            n=i,
        )
        ended_run("backup", "failed", now - dt.timedelta(days=7 * i + 2))
    ended_run("restore", "succeeded", now - dt.timedelta(days=3))
    seed_plain(
        "user",
        [
            {
                "identifier": f"user-{i}",
                "scopes": [f"org{i % 4}-c-p"],
                "expires": now + dt.timedelta(days=i % 30, hours=1),
            }
            for i in range(40)
        ],
    )
    staff_login()
    page.get_by_role("link", name="Dashboard: backups, runs, identities at a glance").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator("svg[role=img]")).to_have_count(6)
    page.get_by_text("Numbers: orgs reached by the most identities").click()
    expect(page.locator("#table-orgs tbody tr")).to_have_count(4)
    # The same page in the dark theme (the admin follows the system's colour scheme).
    dark = browser.new_context(
        viewport={"width": 1280, "height": 900}, color_scheme="dark", storage_state=page.context.storage_state()
    )
    dark_page = dark.new_page()
    dark_page.goto(f"{live_server.url}/admin/dashboard/")
    expect(dark_page.locator("svg[role=img]")).to_have_count(6)
    ARTEFACTS.mkdir(exist_ok=True)
    dark_page.screenshot(path=str(ARTEFACTS / "test_dashboard_from_the_front_page-dark.png"), full_page=True)
    dark.close()


def test_front_page_of_a_fresh_instance(live_server, page, staff_login):
    """A new operator's first screen: the tiles say what is missing, in red, and lead to where it is set."""
    staff_login()
    nobody = page.locator("#alerts-tile li", has_text="alerts go to: nobody")
    expect(nobody).to_be_visible()
    assert nobody.evaluate("e => getComputedStyle(e).color") == "rgb(198, 40, 40)"
    expect(page.locator("#newest-backup-tile .headline")).to_contain_text("no backup of")
    expect(page.locator("#advanced-apps")).not_to_have_attribute("open", "")
    expect(page.get_by_role("link", name="View site")).to_have_count(0)
    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "test_front_page_of_a_fresh_instance-home.png"), full_page=True)
    page.locator("#alerts-tile").get_by_role("link", name="Where alerts go").click()
    expect(page.get_by_role("heading", name="Change alert settings")).to_be_visible()


def test_every_page_linked_from_a_fresh_front_page_opens(live_server, page, staff_login, browser_errors):
    """No run, no backup, no schedule: every page the front page and the top bar lead to opens in Chromium without
    an error status, an error page or a script error (blocked scripts included), each failure named by its page."""
    assert not (OperationRun.objects.exists() or Backup.objects.exists())
    assert not PeriodicTask.objects.filter(enabled=True, task__startswith="operations.backup").exists()
    staff_login()
    page.locator("#advanced-apps summary").click()  # the libraries' pages too, as a superuser sees them
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    pages = sorted(
        {h.split("#")[0] for h in hrefs if h.startswith("/admin/") and "logout" not in h and h.split("#")[0]}
    )
    assert len(pages) > 30, pages
    failed = {}
    for path in pages:
        answer = page.goto(f"{live_server.url}{path}")
        heading = page.locator("h1").first.inner_text() if page.locator("h1").count() else ""
        if answer is None or answer.status >= 400 or "error" in heading.lower() or browser_errors:
            failed[path] = (answer.status if answer else None, heading, browser_errors[:])
            browser_errors.clear()  # named here, with its page
    assert failed == {}
    # The library's periodic task form ran an inline script the portal's policy blocks; its replacement runs.
    page.goto(f"{live_server.url}/admin/django_celery_beat/periodictask/add/")
    expect(page.locator(".field-crontab_translation")).to_be_hidden()
    expect(page.locator("#crontab-in-words")).to_have_count(1)
