"""What staff do in the browser, step by step through the visible labels, shared by the flow tests."""

from __future__ import annotations

import re
import time
from pathlib import Path

from django.conf import settings as django_settings
from playwright.sync_api import Page, expect

from operations.models import Backup
from tests.backup_support import catalog_row

KEY = re.compile(r"[0-9a-f]{64}")


def open_user_identities(page: Page, base_url: str) -> None:
    """From the admin's home page to the list of user identities."""
    page.goto(f"{base_url}/admin/")
    page.get_by_role("link", name="User identities", exact=True).first.click()
    expect(page.get_by_role("heading", name="Select user identity to change")).to_be_visible()


def add_user_identity(page: Page, base_url: str, identifier: str, scopes: list[str] = ()) -> str:
    """Add a user identity with a generated key; returns the key read off the page that shows it once."""
    open_user_identities(page, base_url)
    page.get_by_role("link", name="Add user identity").click()
    page.get_by_label("Identifier").fill(identifier)
    expect(page.get_by_label("generate a key")).to_be_checked()
    page.get_by_role("textbox", name="Scopes").fill("\n".join(scopes))
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text(f"Added user identity {identifier}.")).to_be_visible()
    return read_key_once(page, identifier)


def read_key_once(page: Page, identifier: str) -> str:
    """The key in the key page's only row, checked to belong to ``identifier``."""
    rows = page.locator("#content-main table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td").first).to_have_text(identifier)
    key = rows.first.locator("code.identity-key").inner_text()
    assert KEY.fullmatch(key), f"not a generated key: {key!r}"
    return key


def open_user_identity(page: Page, base_url: str, identifier: str) -> None:
    """Find the identity with the list's search box and open its page."""
    open_user_identities(page, base_url)
    page.locator("#searchbar").fill(identifier)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=identifier, exact=True).click()
    expect(page.get_by_role("heading", name="Change user identity")).to_be_visible()


def confirm_operation(page: Page, link: str, button: str) -> None:
    """Click an operation on the identity's page (Rotate key, Disable, Enable) and confirm it on the next page."""
    page.locator("ul.object-tools").get_by_role("link", name=link, exact=True).click()
    page.get_by_role("button", name=button, exact=True).click()


def restore_asks_for_step_up(page: Page, base_url: str, settings, request) -> Backup:
    """Open a backup's restore page with a last proof older than the step-up setting (shortened to 1 s instead of
    waiting 5 minutes): the step-up page must ask first. The backup is a catalog row whose dump file exists (the
    page offers the restore only then), removed after the test. The setting is back to 5 minutes on return."""
    backup = catalog_row()
    dump = Path(django_settings.BACKUP_DIR) / backup.file_name
    dump.parent.mkdir(parents=True, exist_ok=True)
    dump.write_bytes(b"x")
    request.addfinalizer(lambda: dump.unlink(missing_ok=True))
    settings.STEP_UP_SECONDS = 1
    time.sleep(1.5)
    page.goto(f"{base_url}/admin/operations/backup/")
    page.get_by_role("row").filter(has_text=backup.file_name).get_by_role("link", name="Restore…").click()
    expect(page.locator("#step-up-why")).to_contain_text(f"To restore from {backup.file_name}, confirm it is you")
    settings.STEP_UP_SECONDS = 300
    return backup
