"""Hostile text through every input (identifier, key, scope, email, full name) leaves the graph untouched."""

import pytest
from django.core.management import CommandError, call_command

from identities import services
from identities.audit import Actor
from identities.nodes import USER
from identities.rules import IdentityError
from identities.scope import InvalidScope

from .identity_support import alchemiscale_add, graph_fingerprint

pytestmark = pytest.mark.django_db
ACTOR = Actor("staff", "mallory")

HOSTILE = [
    "victim'}) DETACH DELETE n //",
    "x' OR 1=1 WITH n MATCH (m) DETACH DELETE m //",
    "a\"; MATCH (n) DETACH DELETE n; //",
    "victim\nMATCH (n) DETACH DELETE n",
    "tab\there",
    "esc\x1b[31m",
    "back\\slash",
    "}) SET n.scopes = ['*-*-*'] //",
    "$identifier",
    "",
]


@pytest.fixture
def victim():
    alchemiscale_add("user", "victim", "victim-key", ["a-b-c"], email="v@example.org")
    alchemiscale_add("compute", "other", "other-key", ["d-e-f"])
    return graph_fingerprint()


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_identifier_is_refused_everywhere(victim, text):
    with pytest.raises(IdentityError):
        services.add_identity(USER, text, "k", ACTOR)
    for sub in ("add", "remove", "disable", "enable", "rotate-key", "list-scope"):
        with pytest.raises(CommandError, match="invalid identifier"):
            call_command("identity", sub, "-i", text)
    assert graph_fingerprint() == victim


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_identifier_on_lookups_matches_nothing(victim, text):
    # Lookups by identifier are parameters: hostile text finds no node and runs no Cypher of its own.
    assert services.get_identity(USER, text) is None
    for call in (
        lambda: services.remove_identity(USER, text, ACTOR),
        lambda: services.add_scopes(USER, text, ["z-z-z"], ACTOR),
        lambda: services.disable_identity(USER, text, ACTOR),
        lambda: services.update_details(USER, text, ACTOR, email="a@example.org"),
    ):
        with pytest.raises(services.IdentityNotFound):
            call()
    assert services.bulk_add_scope(USER, [text], "z-z-z", ACTOR) == 0
    assert graph_fingerprint() == victim


@pytest.mark.parametrize("text", HOSTILE + ["a-b-c'] SET n.disabled = true //", "*-*-* ", "a-b-c\n"])
def test_hostile_scope_is_refused(victim, text):
    with pytest.raises(InvalidScope):
        services.add_scopes(USER, "victim", [text], ACTOR)
    with pytest.raises(InvalidScope):
        services.bulk_add_scope(USER, ["victim"], text, ACTOR)
    with pytest.raises(CommandError, match="invalid scope"):
        call_command("identity", "add-scope", "-i", "victim", "-s", text)
    assert graph_fingerprint() == victim


@pytest.mark.parametrize(
    "field, text",
    [
        ("email", "a@b.org' }) DETACH DELETE n //"),
        ("email", "x\n@example.org"),
        ("full_name", "Bob\nMATCH (n) DETACH DELETE n"),
        ("full_name", "x" * 201),
    ],
)
def test_hostile_details_are_refused(victim, field, text):
    with pytest.raises(IdentityError):
        services.update_details(USER, "victim", ACTOR, **{field: text})
    assert graph_fingerprint() == victim


def test_quotes_in_a_key_are_only_ever_hashed(victim):
    key = "k'}) DETACH DELETE n //\"\n"
    services.rotate_key(USER, "victim", key, ACTOR)
    after = graph_fingerprint()
    assert len(after) == len(victim)
    assert key not in repr(after)


def test_hostile_text_through_every_admin_input(victim, alice_client):
    users = "/admin/identities/useridentity/"
    for text in [t for t in HOSTILE if t]:  # an empty email or name is a legitimate "clear it"
        alice_client.post(
            users + "add/",
            {
                "identifier": text,
                "key_choice": "enter",
                "key": text or "k",
                "scopes": text,
                "email": text,
                "full_name": text,
                "expires": "",
            },
        )
        alice_client.post(
            users + "victim/change/",
            {"keep_scopes": ["a-b-c"], "add_scopes": text, "email": text, "full_name": text + "\n", "expires": text},
        )
        alice_client.get(users, {"q": text, "org": text, "o": text, "disabled": text})
        alice_client.post(
            users,
            {
                "action": "add_scope_action",
                "index": "0",
                "_selected_action": [text, "victim"],
                "confirm": "yes",
                "scope": text,
            },
        )
        alice_client.post(
            users, {"action": "delete_action", "index": "0", "_selected_action": [text], "confirm": "yes"}
        )
        alice_client.post(users + "victim/disable/", {"confirm": text})
    assert graph_fingerprint() == victim
