"""At most PORTAL_MAX_SCOPES_PER_IDENTITY scopes per identity, enforced on every way in (the admin's add and change
forms, the bulk action, CSV import, `manage.py identity`), with a clear error and nothing written; and the scopes
page's work growing linearly with the number of scopes (counted, not timed; a timing: bench/identities.py)."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from identities import inventory
from identities.scope import Scope

from .identity_support import alchemiscale_add, graph_fingerprint, stored

pytestmark = pytest.mark.django_db
USERS = "/admin/identities/useridentity/"
CAP_MESSAGE = "at most 3 scopes per identity (PORTAL_MAX_SCOPES_PER_IDENTITY)"


@pytest.fixture
def cap_of_three(settings):
    settings.MAX_SCOPES_PER_IDENTITY = 3


def text(response) -> str:
    return response.content.decode().replace("&#x27;", "'")


def test_the_admin_forms_refuse_more_scopes_than_the_cap(alice_client, cap_of_three):
    four = "\n".join(f"acme-c-p{i}" for i in range(4))
    add = {"identifier": "many", "key_choice": "generate", "key": "", "scopes": four, "email": "", "expires": ""}
    assert CAP_MESSAGE in text(alice_client.post(USERS + "add/", add))
    assert stored("user", "many") is None

    alchemiscale_add("user", "ann", "k", ["acme-c-p0", "acme-c-p1"])
    before = graph_fingerprint()
    change = {"keep_scopes": ["acme-c-p0", "acme-c-p1"], "add_scopes": "acme-c-p2\nacme-c-p3", "email": ""}
    assert CAP_MESSAGE in text(alice_client.post(USERS + "ann/change/", {**change, "expires": ""}))
    assert graph_fingerprint() == before
    # Swapping scopes within the cap is fine.
    swap = {"keep_scopes": ["acme-c-p0"], "add_scopes": "acme-c-p2\nacme-c-p3", "email": "", "expires": ""}
    assert alice_client.post(USERS + "ann/change/", swap).status_code == 302
    assert stored("user", "ann")[1]["scopes"] == ["acme-c-p0", "acme-c-p2", "acme-c-p3"]


def test_the_bulk_action_refuses_identities_at_the_cap(alice_client, cap_of_three):
    alchemiscale_add("user", "full", "k", ["a-b-c", "a-b-d", "a-b-e"])
    alchemiscale_add("user", "roomy", "k", ["a-b-c"])
    before = graph_fingerprint()
    page = alice_client.post(
        USERS,
        {"action": "add_scope_action", "index": "0", "_selected_action": ["full", "roomy"]}
        | {"confirm": "yes", "scope": "z-z-z"},
        follow=True,
    )
    assert CAP_MESSAGE in text(page) and "full" in text(page)
    assert graph_fingerprint() == before
    # A scope the full identity already has adds nothing to it: no error.
    alice_client.post(
        USERS,
        {"action": "add_scope_action", "index": "0", "_selected_action": ["full", "roomy"]}
        | {"confirm": "yes", "scope": "a-b-c"},
    )
    assert stored("user", "roomy")[1]["scopes"] == ["a-b-c"]


def test_csv_import_rows_over_the_cap_are_errors_and_nothing_is_written(alice_client, cap_of_three):
    alchemiscale_add("user", "ann", "k", ["a-b-c"])
    before = graph_fingerprint()
    data = b"identifier,scopes\nann,a-b-c a-b-d a-b-e a-b-f\nnew,a-b-c\n"
    html = text(alice_client.post(USERS + "import/", {"file": SimpleUploadedFile("u.csv", data)}))
    assert CAP_MESSAGE in html and 'name="confirm"' not in html
    assert graph_fingerprint() == before


def test_the_command_line_refuses_scopes_over_the_cap(cap_of_three):
    def run(*args):
        call_command("identity", *args, stdout=io.StringIO(), stderr=io.StringIO())

    with pytest.raises(CommandError, match=r"at most 3 scopes per identity"):
        run("add", "-t", "user", "-i", "many", "-k", "k", *[a for i in range(4) for a in ("-s", f"a-b-c{i}")])
    assert stored("user", "many") is None
    run("add", "-t", "user", "-i", "ann", "-k", "k", "-s", "a-b-c", "-s", "a-b-d")
    before = graph_fingerprint()
    with pytest.raises(CommandError, match=r"'ann' would have 4 scopes; at most 3"):
        run("add-scope", "-t", "user", "-i", "ann", "-s", "a-b-e", "-s", "a-b-f")
    assert graph_fingerprint() == before
    run("add-scope", "-t", "user", "-i", "ann", "-s", "a-b-e", "-s", "a-b-d")  # one new: three in all
    assert stored("user", "ann")[1]["scopes"] == ["a-b-c", "a-b-d", "a-b-e"]


def test_the_scopes_report_does_work_linear_in_the_number_of_scopes(monkeypatch):
    """One identity with many scopes (written past the portal, as alchemiscale's own tools may): the report looks
    at each scope a bounded number of times, not once per other scope."""
    calls = {"covers": 0}
    covers = Scope.covers

    def counted(self, other):
        calls["covers"] += 1
        return covers(self, other)

    monkeypatch.setattr(Scope, "covers", counted)
    n = 600
    scopes = [f"org{i % 7}-camp{i % 13}-p{i}" for i in range(n)] + [f"org{i}-*-*" for i in range(7)] + ["*-*-*"]
    alchemiscale_add("user", "hoarder", "k", scopes)
    rows = {row.scope: row for row in inventory.scope_report()}
    assert len(rows) == len(scopes)
    assert [g.scope for g in rows["org3-camp5-p213"].reached_via] == ["*-*-*", "org3-*-*", "org3-camp5-p213"]
    assert calls["covers"] <= 10 * len(scopes), calls
