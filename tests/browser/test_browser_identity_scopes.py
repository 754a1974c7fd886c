"""Add and remove scopes on an identity's page; an invalid scope is rejected on the page with the rule's message and
nothing is stored."""

import pytest
from playwright.sync_api import expect

from identities.scope import InvalidScope, Scope
from tests.identity_support import alchemiscale_verifies, graph_fingerprint, stored

from .staff import add_user_identity, open_user_identity


def rule_message(text: str) -> str:
    with pytest.raises(InvalidScope) as exc:
        Scope.from_str(text)
    return str(exc.value)


def save_and_continue(page) -> None:
    page.get_by_role("button", name="Save and continue editing").click()


def test_scopes_added_and_removed_on_the_identity_page(live_server, page, staff_login):
    staff_login()
    key = add_user_identity(page, live_server.url, "grace", ["org-camp-one"])
    open_user_identity(page, live_server.url, "grace")

    page.get_by_label("Add scopes").fill("org-camp-two\norg-*-*")
    save_and_continue(page)
    expect(page.get_by_text("was changed successfully")).to_be_visible()
    assert stored("user", "grace")[1]["scopes"] == ["org-camp-one", "org-camp-two", "org-*-*"]
    granted = page.locator("#id_keep_scopes input[type=checkbox]")
    expect(granted).to_have_count(3)
    for box in granted.all():
        expect(box).to_be_checked()

    # Untick one: it goes, the others stay, and the page warns that issued tokens live on.
    page.get_by_label("org-camp-one —").uncheck()
    save_and_continue(page)
    expect(page.locator(".messagelist .warning")).to_contain_text("Removed org-camp-one.")
    assert stored("user", "grace")[1]["scopes"] == ["org-camp-two", "org-*-*"]
    expect(page.locator("#id_keep_scopes label")).to_have_count(2)

    # An invalid scope, among valid ones: the page says why with the rule, and the graph is untouched.
    before = graph_fingerprint()
    bad = "org-camp"
    page.get_by_label("Add scopes").fill(f"org-camp-three\n{bad}")
    page.get_by_label("org-camp-two —").uncheck()
    save_and_continue(page)
    expect(page.locator(".errornote")).to_be_visible()
    expect(page.locator(".field-add_scopes .errorlist")).to_have_text(rule_message(bad))
    assert graph_fingerprint() == before
    assert stored("user", "grace")[1]["scopes"] == ["org-camp-two", "org-*-*"]
    # Scope changes leave the key alone.
    assert alchemiscale_verifies(key, stored("user", "grace")[1]["hashed_key"])
