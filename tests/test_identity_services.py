"""The service functions write exactly what alchemiscale reads, and keys verify the way alchemiscale verifies them."""

import datetime as dt

import pytest

from identities import services
from identities.audit import Actor
from identities.models import AuditEntry, ParkedKey
from identities.nodes import COMPUTE, USER
from identities.rules import InvalidInput, key_matches
from identities.scope import InvalidScope

from .identity_support import alchemiscale_add, alchemiscale_verifies, graph_fingerprint, stored

pytestmark = pytest.mark.django_db
ACTOR = Actor("staff", "alice")


def test_add_user_writes_alchemiscales_shape():
    _, key = services.add_identity(
        USER,
        "user-1",
        "s3cret-key",
        ACTOR,
        scopes=["org-c-p", "org-*-*", "org-c-p"],
        email="u1@example.org",
        full_name="User One",
    )
    assert key == "s3cret-key"
    labels, props = stored("user", "user-1")
    assert labels == {"CredentialedEntity", "CredentialedUserIdentity"}
    assert set(props) == {"identifier", "hashed_key", "scopes", "disabled", "email", "full_name"}
    assert props["scopes"] == ["org-c-p", "org-*-*"] and props["disabled"] is False
    assert props["hashed_key"].startswith("$2b$12$") and len(props["hashed_key"]) == 60
    assert alchemiscale_verifies("s3cret-key", props["hashed_key"])
    assert not alchemiscale_verifies("other", props["hashed_key"])


def test_add_compute_generates_a_strong_key_and_leaves_none_values_absent():
    _, key = services.add_identity(COMPUTE, "compute-1", None, ACTOR)
    assert len(key) == 64 and int(key, 16) >= 0
    labels, props = stored("compute", "compute-1")
    assert labels == {"CredentialedEntity", "CredentialedComputeIdentity"}
    assert set(props) == {"identifier", "hashed_key", "scopes", "disabled"}
    assert props["scopes"] == []
    assert alchemiscale_verifies(key, props["hashed_key"])


def test_long_keys_verify_like_alchemiscale_over_72_bytes():
    key = "k" * 4096
    services.add_identity(USER, "long", key, ACTOR)
    assert alchemiscale_verifies(key, stored("user", "long")[1]["hashed_key"])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"identifier": "bad id", "key": "k"}, "invalid identifier"),
        ({"identifier": "ok", "key": "k" * 4097}, "4097 characters"),
        ({"identifier": "ok", "key": "a\x00b"}, "NUL"),
        ({"identifier": "ok", "key": ""}, "empty"),
        ({"identifier": "ok", "key": "k", "scopes": ["good-c-p", "bad"]}, "invalid scope 'bad'"),
        ({"identifier": "ok", "key": "k", "email": "not-an-email"}, "invalid email"),
        ({"identifier": "ok", "key": "k", "full_name": "two\nlines"}, "invalid full name"),
    ],
)
def test_bad_input_writes_nothing(kwargs, message):
    with pytest.raises((InvalidInput, InvalidScope), match=message):
        services.add_identity(USER, kwargs.pop("identifier"), kwargs.pop("key"), ACTOR, **kwargs)
    assert graph_fingerprint() == []
    assert not AuditEntry.objects.exists()


def test_duplicate_identifier_is_refused_and_the_original_untouched():
    services.add_identity(USER, "dup", "first", ACTOR, scopes=["a-b-c"])
    before = graph_fingerprint()
    with pytest.raises(services.DuplicateIdentity, match="already exists"):
        services.add_identity(USER, "dup", "second", ACTOR)
    assert graph_fingerprint() == before
    assert AuditEntry.objects.count() == 1
    # The same identifier as the other kind is a different identity, as in alchemiscale.
    services.add_identity(COMPUTE, "dup", "third", ACTOR)


def test_identity_created_by_alchemiscale_can_be_read_and_edited():
    alchemiscale_add("user", "legacy", "legacy-key", ["org-c-p"], email="l@example.org")
    node = services.require_identity(USER, "legacy")
    assert node.scopes == ["org-c-p"] and node.email == "l@example.org" and node.disabled is False
    services.add_scopes(USER, "legacy", ["org-c-q"], ACTOR)
    services.update_details(USER, "legacy", ACTOR, full_name="Legacy User", email="")
    labels, props = stored("user", "legacy")
    assert labels == {"CredentialedEntity", "CredentialedUserIdentity"}
    assert props["scopes"] == ["org-c-p", "org-c-q"] and props["full_name"] == "Legacy User"
    assert "email" not in props
    assert alchemiscale_verifies("legacy-key", props["hashed_key"])


def test_scopes_add_remove_set():
    services.add_identity(USER, "s", "k", ACTOR, scopes=["a-b-c"])
    assert services.add_scopes(USER, "s", ["a-b-c", "x-*-*"], ACTOR) == (["a-b-c"], ["a-b-c", "x-*-*"])
    assert services.remove_scopes(USER, "s", ["a-b-c", "never-x-y"], ACTOR) == (["a-b-c", "x-*-*"], ["x-*-*"])
    services.set_scopes(USER, "s", ["p-q-r", "p-q-*"], ACTOR)
    assert stored("user", "s")[1]["scopes"] == ["p-q-r", "p-q-*"]
    with pytest.raises(services.IdentityNotFound):
        services.add_scopes(USER, "missing", ["a-b-c"], ACTOR)
    with pytest.raises(InvalidScope):
        services.add_scopes(USER, "s", ["a-*-c"], ACTOR)
    assert stored("user", "s")[1]["scopes"] == ["p-q-r", "p-q-*"]


def test_bulk_scope_changes_only_what_differs_and_audits_each():
    for name in ("b1", "b2", "b3"):
        services.add_identity(COMPUTE, name, "k", ACTOR, scopes=["a-b-c"] if name == "b1" else [])
    AuditEntry.objects.all().delete()
    assert services.bulk_add_scope(COMPUTE, ["b1", "b2", "nope"], "a-b-c", ACTOR) == 1
    assert [stored("compute", n)[1]["scopes"] for n in ("b1", "b2", "b3")] == [["a-b-c"], ["a-b-c"], []]
    assert services.bulk_remove_scope(COMPUTE, ["b1", "b2", "b3"], "a-b-c", ACTOR) == 2
    assert [stored("compute", n)[1]["scopes"] for n in ("b1", "b2", "b3")] == [[], [], []]
    assert AuditEntry.objects.filter(action="remove-scope").count() == 2


def test_expiry_is_stored_as_a_native_datetime():
    when = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    services.add_identity(USER, "exp", "k", ACTOR, expires=when)
    assert stored("user", "exp")[1]["expires"].to_native() == when
    assert services.require_identity(USER, "exp").expires == when
    services.update_details(USER, "exp", ACTOR, expires=None)
    assert "expires" not in stored("user", "exp")[1]


def test_rotate_key_keeps_scopes_and_only_the_new_key_verifies():
    services.add_identity(USER, "rot", "old-key", ACTOR, scopes=["a-b-c"], email="r@example.org")
    new = services.rotate_key(USER, "rot", None, ACTOR)
    props = stored("user", "rot")[1]
    assert props["scopes"] == ["a-b-c"] and props["email"] == "r@example.org"
    assert alchemiscale_verifies(new, props["hashed_key"])
    assert not alchemiscale_verifies("old-key", props["hashed_key"])


def test_disable_locks_out_and_enable_lets_the_same_key_in():
    services.add_identity(COMPUTE, "d", "the-key", ACTOR, scopes=["a-b-c"])
    assert services.disable_identity(COMPUTE, "d", ACTOR) is True
    props = stored("compute", "d")[1]
    assert props["disabled"] is True and props["hashed_key"].startswith("$2b$12$")
    assert not alchemiscale_verifies("the-key", props["hashed_key"])
    assert ParkedKey.objects.filter(identity_kind="compute", identifier="d").exists()
    assert services.disable_identity(COMPUTE, "d", ACTOR) is False
    assert "works again" in services.enable_identity(COMPUTE, "d", ACTOR)
    props = stored("compute", "d")[1]
    assert props["disabled"] is False and alchemiscale_verifies("the-key", props["hashed_key"])
    assert props["scopes"] == ["a-b-c"]
    assert not ParkedKey.objects.exists()


def test_rotating_a_disabled_identity_keeps_it_locked_until_enabled():
    services.add_identity(USER, "dr", "k1", ACTOR)
    services.disable_identity(USER, "dr", ACTOR)
    k2 = services.rotate_key(USER, "dr", "k2-new", ACTOR)
    assert not alchemiscale_verifies(k2, stored("user", "dr")[1]["hashed_key"])
    services.enable_identity(USER, "dr", ACTOR)
    props = stored("user", "dr")[1]
    assert alchemiscale_verifies("k2-new", props["hashed_key"]) and not alchemiscale_verifies("k1", props["hashed_key"])


def test_enable_keeps_a_key_set_by_alchemiscale_meanwhile():
    services.add_identity(USER, "re", "k1", ACTOR)
    services.disable_identity(USER, "re", ACTOR)
    alchemiscale_add("user", "re", "set-outside")  # alchemiscale's re-add overwrites hash and disabled
    assert "kept" in services.enable_identity(USER, "re", ACTOR)
    props = stored("user", "re")[1]
    assert alchemiscale_verifies("set-outside", props["hashed_key"]) and props["disabled"] is False


def test_lock_expired_disables_only_expired_identities():
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    services.add_identity(USER, "old", "k", ACTOR, expires=past)
    services.add_identity(USER, "new", "k", ACTOR, expires=past + dt.timedelta(days=30))
    assert services.lock_expired(USER, ACTOR) == ["old"]
    assert not key_matches("k", stored("user", "old")[1]["hashed_key"])
    assert key_matches("k", stored("user", "new")[1]["hashed_key"])
    assert services.lock_expired(USER, ACTOR) == []


def test_remove_deletes_the_node_and_its_parked_key():
    services.add_identity(USER, "gone", "k", ACTOR)
    services.disable_identity(USER, "gone", ACTOR)
    services.remove_identity(USER, "gone", ACTOR)
    assert stored("user", "gone") is None and not ParkedKey.objects.exists()
    with pytest.raises(services.IdentityNotFound):
        services.remove_identity(USER, "gone", ACTOR)
