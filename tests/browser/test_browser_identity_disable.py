"""Disable and enable from the identity's page: the stored hash stops verifying the key, then verifies it again."""

from playwright.sync_api import expect

from tests.identity_support import alchemiscale_verifies, stored

from .staff import add_user_identity, confirm_operation, open_user_identity


def test_disable_then_enable_from_the_identity_page(live_server, page, staff_login):
    staff_login()
    key = add_user_identity(page, live_server.url, "lovelace", ["org-camp-one"])
    open_user_identity(page, live_server.url, "lovelace")
    expect(page.locator(".field-status_shown .readonly")).to_have_text("active")

    confirm_operation(page, "Disable", "Disable")
    expect(page.get_by_text("Disable: done for lovelace")).to_be_visible()
    expect(page.locator(".field-status_shown .readonly")).to_contain_text("locked out of alchemiscale")
    props = stored("user", "lovelace")[1]
    assert props["disabled"] is True and not alchemiscale_verifies(key, props["hashed_key"])
    assert props["scopes"] == ["org-camp-one"]

    confirm_operation(page, "Enable", "Enable")
    # Exactly as written: the identifier keeps its case.
    expect(page.locator(".messagelist .success").first).to_have_text("Identity lovelace: enabled: its key works again")
    expect(page.locator(".field-status_shown .readonly")).to_have_text("active")
    expect(page.locator("ul.object-tools").get_by_role("link", name="Disable", exact=True)).to_be_visible()
    props = stored("user", "lovelace")[1]
    assert props["disabled"] is False and alchemiscale_verifies(key, props["hashed_key"])
