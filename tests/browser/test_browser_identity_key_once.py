"""Add a user identity in the browser: its key is shown once, verifies against the stored hash the alchemiscale way,
and is not shown again on the identity's page, on going back, or on reloading."""

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.identity_support import alchemiscale_verifies, stored

from .staff import add_user_identity


def test_add_identity_shows_its_key_once(live_server, page, staff_login):
    staff_login()
    key = add_user_identity(page, live_server.url, "ada", ["org-camp-proj"])
    expect(page.locator(".errornote")).to_contain_text("will never show it again")

    labels, props = stored("user", "ada")
    assert {"CredentialedEntity", "CredentialedUserIdentity"} <= labels
    assert props["scopes"] == ["org-camp-proj"] and props["disabled"] is False
    assert alchemiscale_verifies(key, props["hashed_key"])
    assert not alchemiscale_verifies(key[:-1] + ("0" if key[-1] != "0" else "1"), props["hashed_key"])

    # "Done" leads to the identity's page, which says the key cannot be shown.
    page.get_by_role("link", name="Done").click()
    expect(page.get_by_role("heading", name="Change user identity")).to_be_visible()
    expect(page.get_by_text("stored only as a bcrypt hash; it cannot be shown")).to_be_visible()
    assert key not in page.content()

    # Back to the key page: it was never cached, so the browser has nothing to show (it offers to send the form
    # again) ...
    with pytest.raises(PlaywrightError, match="ERR_CACHE_MISS"):
        page.go_back()
    expect(page.locator("code.identity-key")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text(key)
    # ... and sending it again (a reload) is refused now the identity exists.
    page.reload()
    expect(page.locator(".errorlist")).to_have_text("a user identity 'ada' already exists")
    assert key not in page.content()

    # None of that replaced the stored hash: the key handed out still works.
    assert alchemiscale_verifies(key, stored("user", "ada")[1]["hashed_key"])
