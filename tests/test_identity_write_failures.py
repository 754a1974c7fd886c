"""The portal's database fails right after Neo4j committed a change: `identity reconcile` finishes it, losing nothing.

Neo4j and SQLite are real and each test commits for real (transactional db), so the intent row committed before the
Neo4j write is really on disk; the failure is injected where the audit entry is written (tests/write_failures.py).
"""

import io

import pytest
from django.core.management import call_command
from django.db import DatabaseError

from identities import services, writes
from identities.audit import Actor
from identities.models import AuditEntry, IdentityWrite, ParkedKey
from identities.nodes import COMPUTE, USER

from .identity_support import alchemiscale_verifies, stored
from .write_failures import assert_reconcile_again_changes_nothing, audited, break_django_after_neo4j, reconcile

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]  # parked keys
ACTOR = Actor("staff", "alice")


def the_pending_write() -> IdentityWrite:
    (write,) = IdentityWrite.objects.filter(state="pending")
    return write


def test_add(monkeypatch):
    break_django_after_neo4j(monkeypatch)
    with pytest.raises(writes.UnfinishedChange, match="identity reconcile"):
        services.add_identity(USER, "new", "the-key", ACTOR, scopes=["a-b-c"])
    monkeypatch.undo()
    assert alchemiscale_verifies("the-key", stored("user", "new")[1]["hashed_key"])
    assert not AuditEntry.objects.exists() and the_pending_write().action == "add"

    out = reconcile()
    assert "user identity new: add" in out and "1 unfinished change settled" in out
    assert audited("add", "new") == 1
    assert AuditEntry.objects.get().after == {"scopes": ["a-b-c"], "disabled": False}
    assert IdentityWrite.objects.get().state == "done" and not ParkedKey.objects.exists()
    assert alchemiscale_verifies("the-key", stored("user", "new")[1]["hashed_key"])
    assert_reconcile_again_changes_nothing()


def test_disable_never_loses_the_real_hash(monkeypatch):
    services.add_identity(COMPUTE, "d", "the-key", ACTOR)
    real_hash = stored("compute", "d")[1]["hashed_key"]
    break_django_after_neo4j(monkeypatch)
    with pytest.raises(writes.UnfinishedChange):
        services.disable_identity(COMPUTE, "d", ACTOR)
    monkeypatch.undo()
    props = stored("compute", "d")[1]
    assert props["disabled"] is True and not alchemiscale_verifies("the-key", props["hashed_key"])
    # Neo4j holds the lock hash and no ParkedKey was written, yet the real hash is in the committed intent.
    assert not ParkedKey.objects.exists()
    assert the_pending_write().neo4j_before["hashed_key"] == real_hash
    assert audited("disable", "d") == 0

    reconcile()
    parked = ParkedKey.objects.get(identity_kind="compute", identifier="d")
    assert parked.hashed_key == real_hash and parked.lock_hash == props["hashed_key"]
    assert audited("disable", "d") == 1
    assert_reconcile_again_changes_nothing()
    assert "works again" in services.enable_identity(COMPUTE, "d", ACTOR)
    assert alchemiscale_verifies("the-key", stored("compute", "d")[1]["hashed_key"])


def test_enable(monkeypatch):
    services.add_identity(USER, "e", "the-key", ACTOR)
    services.disable_identity(USER, "e", ACTOR)
    break_django_after_neo4j(monkeypatch)
    with pytest.raises(writes.UnfinishedChange):
        services.enable_identity(USER, "e", ACTOR)
    monkeypatch.undo()
    props = stored("user", "e")[1]
    assert props["disabled"] is False and alchemiscale_verifies("the-key", props["hashed_key"])
    # The parked row outlives the failure: it goes only in the transaction that marks the change done.
    assert ParkedKey.objects.filter(identifier="e").exists() and audited("enable", "e") == 0

    reconcile()
    assert not ParkedKey.objects.exists() and audited("enable", "e") == 1
    assert alchemiscale_verifies("the-key", stored("user", "e")[1]["hashed_key"])
    assert services.get_identity(USER, "e").disabled is False
    assert_reconcile_again_changes_nothing()


def test_rotate(monkeypatch):
    services.add_identity(USER, "r", "old-key", ACTOR, scopes=["a-b-c"])
    break_django_after_neo4j(monkeypatch)
    with pytest.raises(writes.UnfinishedChange):
        services.rotate_key(USER, "r", "new-key", ACTOR)
    monkeypatch.undo()
    assert alchemiscale_verifies("new-key", stored("user", "r")[1]["hashed_key"])
    assert audited("rotate-key", "r") == 0

    reconcile()
    props = stored("user", "r")[1]
    assert alchemiscale_verifies("new-key", props["hashed_key"]) and not alchemiscale_verifies(
        "old-key", props["hashed_key"]
    )
    assert props["scopes"] == ["a-b-c"] and audited("rotate-key", "r") == 1 and not ParkedKey.objects.exists()
    assert_reconcile_again_changes_nothing()


def test_rotate_while_disabled_is_one_transaction(monkeypatch):
    """Only the parked hash changes, so the failure rolls the whole rotation back: nothing is left to reconcile."""
    services.add_identity(USER, "rd", "old-key", ACTOR)
    services.disable_identity(USER, "rd", ACTOR)
    parked_before = ParkedKey.objects.get().hashed_key
    lock = stored("user", "rd")[1]["hashed_key"]
    break_django_after_neo4j(monkeypatch)
    with pytest.raises(DatabaseError, match="injected"):
        services.rotate_key(USER, "rd", "new-key", ACTOR)
    monkeypatch.undo()
    assert ParkedKey.objects.get().hashed_key == parked_before and audited("rotate-key", "rd") == 0
    assert stored("user", "rd")[1]["hashed_key"] == lock
    assert_reconcile_again_changes_nothing()
    services.enable_identity(USER, "rd", ACTOR)
    assert alchemiscale_verifies("old-key", stored("user", "rd")[1]["hashed_key"])


def test_remove_of_a_disabled_identity(monkeypatch):
    services.add_identity(USER, "gone", "the-key", ACTOR, scopes=["a-b-c"])
    services.disable_identity(USER, "gone", ACTOR)
    real_hash = ParkedKey.objects.get().hashed_key
    break_django_after_neo4j(monkeypatch)
    with pytest.raises(writes.UnfinishedChange):
        services.remove_identity(USER, "gone", ACTOR)
    monkeypatch.undo()
    assert stored("user", "gone") is None
    assert ParkedKey.objects.get().hashed_key == real_hash and audited("remove", "gone") == 0

    reconcile()
    assert not ParkedKey.objects.exists() and audited("remove", "gone") == 1
    assert AuditEntry.objects.get(action="remove").before == {"scopes": ["a-b-c"], "disabled": True}
    assert_reconcile_again_changes_nothing()


def test_an_unfinished_change_blocks_the_next_and_is_shown_in_the_admin(monkeypatch, alice_client):
    services.add_identity(USER, "busy", "the-key", ACTOR)
    break_django_after_neo4j(monkeypatch)
    with pytest.raises(writes.UnfinishedChange):
        services.disable_identity(USER, "busy", ACTOR)
    monkeypatch.undo()
    # Enabling now would start from the lock hash with no parked key to restore: refused until reconciled.
    with pytest.raises(services.ConcurrentChange, match="identity reconcile"):
        services.enable_identity(USER, "busy", ACTOR)
    page = alice_client.get("/admin/identities/useridentity/busy/change/").content.decode()
    assert "UNFINISHED CHANGE" in page and "manage.py identity reconcile" in page

    reconcile()
    assert "works again" in services.enable_identity(USER, "busy", ACTOR)
    assert alchemiscale_verifies("the-key", stored("user", "busy")[1]["hashed_key"])
    assert "UNFINISHED" not in alice_client.get("/admin/identities/useridentity/busy/change/").content.decode()


def test_reconcile_leaves_young_changes_alone_by_default(monkeypatch):
    services.add_identity(USER, "young", "k", ACTOR)
    break_django_after_neo4j(monkeypatch)
    with pytest.raises(writes.UnfinishedChange):
        services.rotate_key(USER, "young", "k2", ACTOR)
    monkeypatch.undo()
    out, err = io.StringIO(), io.StringIO()
    call_command("identity", "reconcile", stdout=out, stderr=err)
    assert "0 unfinished changes settled" in out.getvalue() and "1 younger than 120 s" in err.getvalue()
    assert the_pending_write().action == "rotate-key"
