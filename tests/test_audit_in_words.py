"""The identity audit log reads as sentences (issue: the audit log in sentences, one time format): each action's
entry as the services write it, shown on the log's list. Unit tier."""

import pytest
from django.urls import reverse

from identities.audit import in_words, record
from identities.models import AuditEntry
from identities.nodes import COMPUTE, USER
from security.actors import Actor

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

A = AuditEntry.Action
ALICE, ROOT = Actor("staff", "alice"), Actor("cli", "root")


def test_each_action_in_a_sentence(alice_client):
    cases = [
        (record(ALICE, A.ADD, USER, "ada", None, {"scopes": ["acme-*-*"]}), "added user ada with scope acme-*-*"),
        (record(ALICE, A.ADD, COMPUTE, "crunch", None, {}), "added compute crunch"),
        (record(ROOT, A.REMOVE, USER, "bob", {"scopes": ["a-b-c"]}, None), "removed user bob"),
        (
            record(ALICE, A.ADD_SCOPE, USER, "ada", {"scopes": ["acme-*-*"]}, {"scopes": ["acme-*-*", "x-y-z"]}),
            "added scope x-y-z to user ada",
        ),
        (
            record(ALICE, A.REMOVE_SCOPE, USER, "ada", {"scopes": ["acme-*-*", "x-y-z"]}, {"scopes": ["x-y-z"]}),
            "removed scope acme-*-* from user ada",
        ),
        (
            record(ALICE, A.SET_SCOPES, USER, "ada", {"scopes": ["a-b-c"]}, {"scopes": ["d-e-f", "g-h-i"]}),
            "changed user ada: added scope d-e-f; added scope g-h-i; removed scope a-b-c",
        ),
        (
            record(
                ALICE,
                A.CHANGE,
                USER,
                "ada",
                {"email": None, "full_name": "Ada"},
                {"email": "ada@x.org", "full_name": "Ada"},
            ),
            "changed user ada: email nothing -> ada@x.org",
        ),
        (record(ALICE, A.ROTATE_KEY, USER, "ada", None, {"scopes": ["a-b-c"]}), "rotated the key of user ada"),
        (
            record(
                ALICE, A.ROTATE_KEY, USER, "eve", None, {"scopes": [], "disabled": False, "key": "as in the backup"}
            ),
            "set the key of user eve back to the backup's",
        ),
        (record(ROOT, A.DISABLE, USER, "ada", {"disabled": False}, {"disabled": True}), "disabled user ada"),
        (record(ROOT, A.ENABLE, USER, "ada", {"disabled": True}, {"disabled": None}), "enabled user ada"),
    ]
    for entry, words in cases:
        assert in_words(entry) == words
    page = alice_client.get(reverse("admin:identities_auditentry_changelist")).content.decode()
    for _, words in cases:
        assert words.replace(">", "&gt;").replace("'", "&#x27;") in page
    assert "root (command line)" in page and "None" not in page and "→" not in page
