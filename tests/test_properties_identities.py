"""Property-based: every identifier, key and scope is either accepted and stored exactly, or rejected with a clear
message and no change to the graph — through the service functions, the admin's add form and the command line."""

import io
import re

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from identities import services, store
from identities.audit import Actor
from identities.nodes import KINDS
from identities.rules import IDENTIFIER_MAX, KEY_MAX, IdentityError, key_matches
from identities.scope import InvalidScope, Scope

from .identity_support import graph_fingerprint, stored

pytestmark = pytest.mark.django_db
USERS = "/admin/identities/useridentity/"
RULE_WORDS = re.compile(r"identifier|key|scope", re.I)
EXAMPLES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
HOSTILE = [
    "'",
    '"',
    "\\",
    "`",
    "\n",
    "\r",
    "\x00",
    "})",
    "//",
    "/*",
    " OR 1=1",
    "MATCH (n) DETACH DELETE n",
    "$x",
    "{",
    "}",
    ";",
    " ",
    "\t",
    "\x1b",
    "é",
    "\u202e",
]
identifiers = st.one_of(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,20}", fullmatch=True),
    st.lists(st.sampled_from(HOSTILE + ["a", "1", "-", "."]), min_size=1, max_size=6).map("".join),
    st.text(max_size=30),
    st.text(alphabet="ab", min_size=IDENTIFIER_MAX - 1, max_size=IDENTIFIER_MAX + 2),
)
keys = st.one_of(
    st.text(min_size=0, max_size=90),
    st.sampled_from(HOSTILE).map(lambda h: "key" + h + "tail"),
    st.just("k" * KEY_MAX),
    st.just("k" * (KEY_MAX + 1)),
    st.text(st.characters(codec="utf-8"), max_size=20),
)
scope_parts = st.one_of(
    st.from_regex(r"[a-zA-Z][a-zA-Z0-9_]{0,6}", fullmatch=True),
    st.just("*"),
    st.sampled_from(HOSTILE + ["1a", "", "a-b"]),
)
scopes = st.one_of(st.lists(scope_parts, min_size=1, max_size=4).map("-".join), st.text(max_size=16))


def _reset():
    store.cypher("MATCH (n:CredentialedEntity) DETACH DELETE n")


@EXAMPLES
@given(identifier=identifiers, key=keys)
def test_service_add_stores_exactly_or_rejects_cleanly(identifier, key):
    _reset()
    before = graph_fingerprint()
    try:
        services.add_identity(KINDS["user"], identifier, key, Actor.command_line())
    except IdentityError as exc:
        assert RULE_WORDS.search(str(exc)), str(exc)
        assert graph_fingerprint() == before
        return
    labels, props = stored("user", identifier)
    assert props["identifier"] == identifier
    assert labels == {"CredentialedEntity", "CredentialedUserIdentity"}
    assert key_matches(key, props["hashed_key"])


@EXAMPLES
@given(text=scopes)
def test_scopes_stored_exactly_or_rejected(text):
    _reset()
    services.add_identity(KINDS["compute"], "scoped", "a-key", Actor.command_line())
    before = graph_fingerprint()
    try:
        parsed = Scope.from_str(text)
    except InvalidScope:
        parsed = None
    try:
        services.add_scopes(KINDS["compute"], "scoped", [text], Actor.command_line())
    except (IdentityError, InvalidScope) as exc:
        assert parsed is None, f"{text!r} parses as a scope but was refused: {exc}"
        assert "scope" in str(exc).lower()
        assert graph_fingerprint() == before
        return
    assert parsed is not None and str(parsed) == text
    assert stored("compute", "scoped")[1]["scopes"] == [text]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    identifier=identifiers,
    key=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40),
    scope=scopes,
)
def test_admin_add_form(alice_client, identifier, key, scope):
    _reset()
    before = graph_fingerprint()
    response = alice_client.post(
        USERS + "add/", {"identifier": identifier, "key_choice": "enter", "key": key, "scopes": scope}
    )
    found = stored("user", identifier) if "\x00" not in identifier else None
    if response.status_code == 200 and "errornote" in response.content.decode():
        assert graph_fingerprint() == before
        assert found is None
        return
    assert found is not None, response.content.decode()[:500]
    assert found[1]["identifier"] == identifier
    assert found[1]["scopes"] == ([scope.strip()] if scope.strip() else [])
    assert key_matches(key, found[1]["hashed_key"])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(identifier=identifiers, key=keys.filter(lambda k: not k.startswith("-")), scope=scopes)
def test_command_line_add(identifier, key, scope):
    _reset()
    before = graph_fingerprint()
    args = ["identity", "add", "-t", "user", "-i", identifier, "-k", key, "-s", scope]
    try:
        call_command(*args, stdout=io.StringIO(), stderr=io.StringIO())
    except CommandError as exc:
        assert RULE_WORDS.search(str(exc)), str(exc)
        assert graph_fingerprint() == before
        return
    props = stored("user", identifier)[1]
    assert props["scopes"] == [scope] and key_matches(key, props["hashed_key"])
