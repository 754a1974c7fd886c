"""Rotate a key from the identity's page: the new key is shown once, the old one no longer verifies, scopes stay."""

from playwright.sync_api import expect

from tests.identity_support import alchemiscale_verifies, stored

from .staff import add_user_identity, open_user_identity, read_key_once


def test_rotate_key_from_the_identity_page(live_server, page, staff_login):
    staff_login()
    old_key = add_user_identity(page, live_server.url, "hopper", ["org-camp-one", "org-camp-two"])
    open_user_identity(page, live_server.url, "hopper")

    page.locator("ul.object-tools").get_by_role("link", name="Rotate key", exact=True).click()
    expect(page.locator("ul.identity-list")).to_have_text("hopper")
    expect(page.get_by_text("the old key stops working at once")).to_be_visible()
    page.get_by_role("button", name="Rotate the key").click()
    new_key = read_key_once(page, "hopper")
    assert new_key != old_key

    props = stored("user", "hopper")[1]
    assert alchemiscale_verifies(new_key, props["hashed_key"])
    assert not alchemiscale_verifies(old_key, props["hashed_key"])
    assert props["scopes"] == ["org-camp-one", "org-camp-two"] and props["disabled"] is False

    # Done: back on the identity's page, which shows the scopes and not the key.
    page.get_by_role("link", name="Done").click()
    expect(page.get_by_role("heading", name="Change user identity")).to_be_visible()
    expect(page.locator("#id_keep_scopes input:checked")).to_have_count(2)
    assert new_key not in page.content()
