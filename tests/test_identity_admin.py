"""Staff manage identities in Django's built-in admin (changelist, add, change, actions) on the real Neo4j."""

import datetime as dt
import re

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, Permission

from identities.models import AuditEntry, ParkedKey

from .identity_support import alchemiscale_add, alchemiscale_verifies, graph_fingerprint, seed_plain, stored

pytestmark = pytest.mark.django_db
USERS = "/admin/identities/useridentity/"
COMPUTES = "/admin/identities/computeidentity/"
KEY_ON_PAGE = re.compile(r'class="identity-key">([^<]+)<')


def listed(response) -> list[str]:
    html = response.content.decode()
    return re.findall(r'<th class="field-identifier_column"><a href="[^"]*">([^<]+)</a>', html)


# ---- the list -------------------------------------------------------------------------------------------


def test_changelist_search_filters_and_sorting(alice_client):
    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    seed_plain(
        "user",
        [
            {"identifier": "ann", "email": "ann@lab.org", "full_name": "Ann Zed", "scopes": ["acme-c-p"]},
            {"identifier": "ben", "email": "ben@other.org", "full_name": "Ben Young", "disabled": True},
            {"identifier": "cat", "full_name": "Cat Xu", "expires": past, "scopes": ["beta-*-*"]},
        ],
    )
    seed_plain("compute", [{"identifier": "worker", "scopes": ["acme-c-*"]}])
    assert listed(alice_client.get(USERS)) == ["ann", "ben", "cat"]
    assert listed(alice_client.get(COMPUTES)) == ["worker"]
    assert listed(alice_client.get(USERS, {"q": "LAB.ORG"})) == ["ann"]
    assert listed(alice_client.get(USERS, {"q": "young"})) == ["ben"]
    assert listed(alice_client.get(USERS, {"q": "at"})) == ["cat"]
    assert listed(alice_client.get(USERS, {"disabled": "yes"})) == ["ben"]
    assert listed(alice_client.get(USERS, {"disabled": "no"})) == ["ann", "cat"]
    assert listed(alice_client.get(USERS, {"expired": "yes"})) == ["cat"]
    assert listed(alice_client.get(USERS, {"org": "acme"})) == ["ann"]
    assert listed(alice_client.get(USERS, {"org": "x' OR 1=1 //"})) == []
    assert listed(alice_client.get(USERS, {"org": "acme", "q": "nn"})) == ["ann"]
    assert listed(alice_client.get(USERS, {"org": "beta", "disabled": "no", "expired": "yes"})) == ["cat"]
    # Columns: 0 checkbox, 1 identifier, 2 status, 3 scopes, 4 email, 5 full name, 6 expires.
    assert listed(alice_client.get(USERS, {"o": "-5"})) == ["cat", "ben", "ann"]
    assert listed(alice_client.get(USERS, {"o": "-1"})) == ["cat", "ben", "ann"]
    assert listed(alice_client.get(USERS, {"o": "-4"})) == ["cat", "ben", "ann"]  # no email sorts first, descending
    assert listed(alice_client.get(USERS, {"o": "2.-1"})) == ["cat", "ann", "ben"]  # active first, then disabled
    page = alice_client.get(USERS).content.decode()
    assert "tokens already issued stay valid" in page and 'name="org"' in page


@pytest.mark.unit
def test_unknown_lookups_are_refused_not_crashing(alice_client):
    response = alice_client.get(USERS, {"hashed_key__startswith": "$2b"})
    assert response.status_code in (302, 400)


def test_pagination(alice_client):
    seed_plain("user", [{"identifier": f"id{i:04d}"} for i in range(230)])
    first = listed(alice_client.get(USERS))
    third = listed(alice_client.get(USERS, {"p": "3"}))
    assert first[0] == "id0000" and len(first) == 100
    assert third == [f"id{i:04d}" for i in range(200, 230)]
    assert "230 user identities" in alice_client.get(USERS).content.decode()
    # A filtered list is counted and paged in one query; the same pages come out.
    assert listed(alice_client.get(USERS, {"q": "ID0", "p": "3"})) == [f"id{i:04d}" for i in range(200, 230)]
    assert listed(alice_client.get(USERS, {"q": "id0", "p": "2", "o": "-1"}))[0] == "id0129"
    assert "230 user identities" in alice_client.get(USERS, {"q": "id"}).content.decode()


# ---- add ----------------------------------------------------------------------------------------------


def test_add_with_generated_key_shows_it_once_and_stores_only_the_hash(alice_client):
    response = alice_client.post(
        USERS + "add/",
        {
            "identifier": "newbie",
            "key_choice": "generate",
            "key": "",
            "scopes": "acme-c-p\nacme-*-*",
            "email": "n@lab.org",
            "full_name": "New Bie",
            "expires": "",
        },
    )
    assert response.status_code == 200
    (key,) = KEY_ON_PAGE.findall(response.content.decode())
    assert len(key) == 64 and "Copy" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    labels, props = stored("user", "newbie")
    assert labels == {"CredentialedEntity", "CredentialedUserIdentity"}
    assert props["scopes"] == ["acme-c-p", "acme-*-*"] and props["full_name"] == "New Bie"
    assert alchemiscale_verifies(key, props["hashed_key"])
    # Never again: not on the next pages, not in Django's database, not in the session or message cookies.
    again = alice_client.get(USERS + "newbie/change/").content.decode()
    assert key not in again and KEY_ON_PAGE.search(again) is None
    assert key not in str(list(AuditEntry.objects.values())) + str(list(LogEntry.objects.values()))
    assert key not in str({k: v.value for k, v in alice_client.cookies.items()})
    from django.contrib.sessions.models import Session

    assert all(key not in str(s.get_decoded()) for s in Session.objects.all())


def test_add_with_entered_key_compute(alice_client):
    response = alice_client.post(
        COMPUTES + "add/",
        {
            "identifier": "worker-7",
            "key_choice": "enter",
            "key": "entered key 7",
            "scopes": "",
            "email": "",
            "expires": "2031-02-03 04:05:06",
        },
    )
    assert response.status_code == 302
    labels, props = stored("compute", "worker-7")
    assert labels == {"CredentialedEntity", "CredentialedComputeIdentity"}
    assert set(props) == {"identifier", "hashed_key", "scopes", "disabled", "expires"}
    assert alchemiscale_verifies("entered key 7", props["hashed_key"])
    assert props["expires"].to_native() == dt.datetime(2031, 2, 3, 4, 5, 6, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"identifier": "has space"}, "invalid identifier"),
        ({"identifier": "x'})//"}, "invalid identifier"),
        ({"identifier": "dup"}, "already exists"),
        ({"scopes": "acme-*-p"}, "invalid scope"),
        ({"key_choice": "enter", "key": ""}, "the key is empty"),
        ({"key_choice": "enter", "key": "k" * 4097}, "4096"),
        ({"email": "nope"}, "valid email"),
    ],
)
def test_add_refuses_bad_input_with_the_rule(alice_client, data, message):
    alchemiscale_add("user", "dup", "k")
    before = graph_fingerprint()
    form = {
        "identifier": "fine",
        "key_choice": "generate",
        "key": "",
        "scopes": "",
        "email": "",
        "full_name": "",
        "expires": "",
        **data,
    }
    response = alice_client.post(USERS + "add/", form)
    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'")
    assert graph_fingerprint() == before


# ---- change -------------------------------------------------------------------------------------------


def test_identity_made_by_alchemiscale_is_edited_in_the_admin(alice_client):
    alchemiscale_add("user", "legacy", "legacy-key", ["acme-c-p", "acme-*-*"], email="old@lab.org")
    store_data = [{"identifier": "net", "_org": "acme", "_campaign": "c9", "_project": "p9"}]
    from identities import store

    store.cypher("UNWIND $rows AS r CREATE (n:AlchemicalNetwork) SET n = r", {"rows": store_data})
    page = alice_client.get(USERS + "legacy/change/").content.decode()
    assert "every campaign and project of org acme" in page and "acme-c9-p9" in page  # what the wildcard covers
    response = alice_client.post(
        USERS + "legacy/change/",
        {
            "keep_scopes": ["acme-*-*"],
            "add_scopes": "beta-c-p",
            "email": "new@lab.org",
            "full_name": "Leg Acy",
            "expires": "",
        },
    )
    assert response.status_code == 302
    props = stored("user", "legacy")[1]
    assert props["scopes"] == ["acme-*-*", "beta-c-p"]
    assert props["email"] == "new@lab.org" and props["full_name"] == "Leg Acy"
    assert alchemiscale_verifies("legacy-key", props["hashed_key"])
    follow = alice_client.get(USERS).content.decode()
    assert "tokens already issued stay valid" in follow


def test_change_refuses_a_bad_scope(alice_client):
    alchemiscale_add("compute", "w", "k", ["a-b-c"])
    before = graph_fingerprint()
    response = alice_client.post(
        COMPUTES + "w/change/", {"keep_scopes": [], "add_scopes": "a-b-c\n*-x-y", "email": "", "expires": ""}
    )
    assert response.status_code == 200 and "invalid scope" in response.content.decode().replace("&#x27;", "'")
    assert graph_fingerprint() == before


# ---- actions and object buttons -----------------------------------------------------------------------


def action(client, url, name, selected, **extra):
    return client.post(url, {"action": name, "index": "0", "_selected_action": selected, **extra})


def test_bulk_add_and_remove_scope(alice_client):
    seed_plain("user", [{"identifier": f"u{i}"} for i in range(4)])
    page = action(alice_client, USERS, "add_scope_action", ["u0", "u1"])
    assert page.status_code == 200 and "Add the scope" in page.content.decode()
    bad = action(alice_client, USERS, "add_scope_action", ["u0", "u1"], confirm="yes", scope="a-*-c")
    assert "invalid scope" in bad.content.decode().replace("&#x27;", "'")
    done = action(alice_client, USERS, "add_scope_action", ["u0", "u1"], confirm="yes", scope="acme-c-*")
    assert done.status_code == 302
    assert [stored("user", f"u{i}")[1]["scopes"] for i in range(4)] == [["acme-c-*"]] * 2 + [[]] * 2
    # "all N selected" across a search: every match, not only the ticked rows.
    action(alice_client, USERS + "?q=u", "add_scope_action", ["u0"], confirm="yes", scope="zeta-z-z", select_across="1")
    assert all("zeta-z-z" in stored("user", f"u{i}")[1]["scopes"] for i in range(4))
    page = action(alice_client, USERS, "remove_scope_action", ["u1"])
    assert "tokens already issued stay valid" in page.content.decode()
    action(alice_client, USERS, "remove_scope_action", ["u1"], confirm="yes", scope="acme-c-*")
    assert stored("user", "u1")[1]["scopes"] == ["zeta-z-z"]


def test_rotate_key_action_keeps_scopes_and_shows_new_keys_once(alice_client):
    alchemiscale_add("compute", "c1", "old-1", ["a-b-c"])
    alchemiscale_add("compute", "c2", "old-2", [])
    assert "Rotate the key" in action(alice_client, COMPUTES, "rotate_key_action", ["c1", "c2"]).content.decode()
    assert stored("compute", "c1")[1]["hashed_key"]  # nothing happened before confirming
    assert alchemiscale_verifies("old-1", stored("compute", "c1")[1]["hashed_key"])
    response = action(alice_client, COMPUTES, "rotate_key_action", ["c1", "c2"], confirm="yes")
    keys = KEY_ON_PAGE.findall(response.content.decode())
    assert len(keys) == 2
    assert alchemiscale_verifies(keys[0], stored("compute", "c1")[1]["hashed_key"])
    assert alchemiscale_verifies(keys[1], stored("compute", "c2")[1]["hashed_key"])
    assert stored("compute", "c1")[1]["scopes"] == ["a-b-c"]


def test_rotate_disable_enable_buttons_on_the_identity_page(alice_client):
    alchemiscale_add("user", "solo", "solo-key", ["a-b-c"])
    page = alice_client.get(USERS + "solo/change/").content.decode()
    assert "rotate-key/" in page and "disable/" in page
    confirm = alice_client.get(USERS + "solo/disable/").content.decode()
    assert "matches no key" in confirm and "1800 s" in confirm
    alice_client.post(USERS + "solo/disable/", {"confirm": "yes"})
    props = stored("user", "solo")[1]
    assert props["disabled"] is True and not alchemiscale_verifies("solo-key", props["hashed_key"])
    assert "locked out of alchemiscale" in alice_client.get(USERS + "solo/change/").content.decode()
    alice_client.post(USERS + "solo/enable/", {"confirm": "yes"})
    assert alchemiscale_verifies("solo-key", stored("user", "solo")[1]["hashed_key"])
    response = alice_client.post(USERS + "solo/rotate-key/", {"confirm": "yes"})
    (key,) = KEY_ON_PAGE.findall(response.content.decode())
    assert alchemiscale_verifies(key, stored("user", "solo")[1]["hashed_key"])


def test_disable_and_enable_actions(alice_client):
    alchemiscale_add("user", "d1", "key-1")
    action(alice_client, USERS, "disable_action", ["d1"], confirm="yes")
    assert not alchemiscale_verifies("key-1", stored("user", "d1")[1]["hashed_key"])
    assert ParkedKey.objects.count() == 1
    action(alice_client, USERS, "enable_action", ["d1"], confirm="yes")
    assert alchemiscale_verifies("key-1", stored("user", "d1")[1]["hashed_key"])


def test_delete_goes_through_a_confirmation_page(alice_client):
    alchemiscale_add("user", "del1", "k")
    alchemiscale_add("user", "del2", "k")
    page = alice_client.get(USERS + "del1/delete/")
    assert page.status_code == 200 and "Yes, delete" in page.content.decode()
    assert stored("user", "del1") is not None
    assert alice_client.post(USERS + "del1/delete/", {"confirm": "yes"}).status_code == 302
    assert stored("user", "del1") is None
    assert "tokens already issued" in action(alice_client, USERS, "delete_action", ["del2"]).content.decode()
    assert stored("user", "del2") is not None
    action(alice_client, USERS, "delete_action", ["del2"], confirm="yes")
    assert stored("user", "del2") is None
    assert "delete_selected" not in alice_client.get(USERS).content.decode()


# ---- permissions --------------------------------------------------------------------------------------


def test_staff_without_identity_rights_are_refused(client, bob):
    alchemiscale_add("user", "x", "k")
    client.force_login(bob)
    for url in (USERS, USERS + "add/", USERS + "x/change/", USERS + "x/disable/", "/admin/identity-scopes/"):
        assert client.get(url).status_code == 403, url
    assert client.post(USERS + "x/delete/", {"confirm": "yes"}).status_code == 403
    assert stored("user", "x") is not None


def test_view_only_staff_see_but_cannot_change(client, bob):
    alchemiscale_add("user", "x", "k", ["a-b-c"])
    bob.user_permissions.add(Permission.objects.get(codename="view_identity"))
    client.force_login(bob)
    assert client.get(USERS).status_code == 200
    page = client.get(USERS + "x/change/")
    assert page.status_code == 200 and "a-b-c" in page.content.decode()
    assert client.post(USERS + "x/change/", {"keep_scopes": [], "add_scopes": ""}).status_code == 403
    assert client.get(USERS + "x/rotate-key/").status_code == 403
    assert stored("user", "x")[1]["scopes"] == ["a-b-c"]


def test_identity_manager_group_has_exactly_the_identity_rights(client, bob):
    group = Group.objects.get(name="identity manager")
    assert {p.codename for p in group.permissions.all()} == {
        "view_identity",
        "add_identity",
        "change_identity",
        "delete_identity",
        "rotate_identity_key",
        "disable_identity",
        "view_auditentry",
    }
    bob.groups.add(group)
    client.force_login(bob)
    response = client.post(
        USERS + "add/",
        {
            "identifier": "by-bob",
            "key_choice": "enter",
            "key": "bob's key",
            "scopes": "",
            "email": "",
            "full_name": "",
            "expires": "",
        },
    )
    assert response.status_code == 302
    assert AuditEntry.objects.get(identifier="by-bob").actor == "bob"
    assert client.get("/admin/auth/user/").status_code == 403
