"""The dashboard in a real browser, from the admin's front page, in the light and the dark theme; the front page of a
fresh instance."""

import datetime as dt

from django.utils import timezone
from playwright.sync_api import expect

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
