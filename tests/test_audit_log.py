"""Every identity and scope change is in the audit log: who, when, what, before/after; never a key or a hash."""

import io
import json

import pytest
from django.core.management import call_command

from identities.models import AuditEntry

from .identity_support import stored

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
AUDIT = "/admin/identities/auditentry/"
USERS = "/admin/identities/useridentity/"


def test_web_and_command_line_changes_are_recorded_without_secrets(alice_client):
    alice_client.post(
        USERS + "add/",
        {
            "identifier": "aud",
            "key_choice": "enter",
            "key": "web-secret-key",
            "scopes": "a-b-c",
            "email": "",
            "full_name": "",
            "expires": "",
        },
    )
    alice_client.post(
        USERS + "aud/change/",
        {"keep_scopes": [], "add_scopes": "x-y-z", "email": "a@lab.org", "full_name": "", "expires": ""},
    )
    alice_client.post(USERS + "aud/disable/", {"confirm": "yes"})
    alice_client.post(USERS + "aud/enable/", {"confirm": "yes"})
    out = io.StringIO()
    call_command("identity", "rotate-key", "-i", "aud", stdout=out, stderr=io.StringIO())
    cli_key = out.getvalue().split("store it safely): ")[1].strip()
    call_command("identity", "remove", "-i", "aud", stdout=io.StringIO(), stderr=io.StringIO())

    entries = list(AuditEntry.objects.order_by("id"))
    assert [e.action for e in entries] == [
        "add",
        "remove-scope",
        "add-scope",
        "change",
        "disable",
        "enable",
        "rotate-key",
        "remove",
    ]
    assert {e.actor for e in entries[:6]} == {"alice"} and {e.actor_kind for e in entries[:6]} == {"staff"}
    assert {e.actor_kind for e in entries[6:]} == {"cli"} and entries[7].actor
    assert entries[1].before == {"scopes": ["a-b-c"]} and entries[1].after == {"scopes": []}
    assert "1800 s" in entries[1].note
    assert entries[3].before == {} and entries[3].after == {"email": "a@lab.org"}
    assert entries[7].before["scopes"] == ["x-y-z"]
    everything = json.dumps([{k: str(v) for k, v in row.items()} for row in AuditEntry.objects.values()])
    assert "web-secret-key" not in everything and cli_key not in everything and "$2b$" not in everything
    assert stored("user", "aud") is None


def test_failed_changes_leave_no_audit_row():
    with pytest.raises(Exception):
        call_command("identity", "add-scope", "-i", "nobody", "-s", "a-b-c")
    assert not AuditEntry.objects.exists()


def test_audit_admin_is_read_only_and_filterable(alice_client):
    call_command("identity", "add", "-i", "one", "-k", "k", stdout=io.StringIO())
    call_command("identity", "add", "-t", "compute", "-i", "two", "-k", "k", stdout=io.StringIO())
    call_command("identity", "disable", "-t", "compute", "-i", "two", stdout=io.StringIO(), stderr=io.StringIO())
    page = alice_client.get(AUDIT).content.decode()
    assert "one" in page and "two" in page
    assert (
        "two"
        not in alice_client.get(AUDIT, {"identity_kind__exact": "user"}).content.decode().split('id="result_list"')[1]
    )
    only_disable = alice_client.get(AUDIT, {"action__exact": "disable"}).content.decode().split('id="result_list"')[1]
    assert "disabled compute two" in only_disable and "user one" not in only_disable
    # The identity page's History goes to its audit entries.
    history = alice_client.get(USERS + "one/history/")
    assert history.status_code == 302 and "identifier=one" in history["Location"]
    assert "added user one" in alice_client.get(history["Location"]).content.decode()
    entry = AuditEntry.objects.first()
    assert alice_client.get(AUDIT + "add/").status_code == 403
    assert alice_client.post(AUDIT + f"{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert alice_client.post(AUDIT + f"{entry.pk}/change/", {"actor": "forged"}).status_code == 403
    assert AuditEntry.objects.get(pk=entry.pk).actor == entry.actor
