"""Neo4j fails once the intent is recorded, before its write: nothing is half done, and reconcile abandons the intent.

The failure is real in kind (the driver's ServiceUnavailable) and injected right after the intent row is committed,
for every identity write that goes through an intent (tests/write_failures.py).
"""

import pytest
from django.core.management import CommandError
from neo4j.exceptions import ServiceUnavailable

from identities import services, store
from identities.audit import Actor
from identities.models import IdentityWrite
from identities.nodes import USER

from .identity_support import alchemiscale_verifies, stored
from .write_failures import assert_reconcile_again_changes_nothing, everything, reconcile, take_neo4j_down_after_begin

pytestmark = pytest.mark.django_db(transaction=True)
ACTOR = Actor("cli", "ops")

OPERATIONS = {
    "add": lambda: services.add_identity(USER, "new", "new-key", ACTOR),
    "disable": lambda: services.disable_identity(USER, "live", ACTOR),
    "enable": lambda: services.enable_identity(USER, "off", ACTOR),
    "rotate-key": lambda: services.rotate_key(USER, "live", "new-key", ACTOR),
    "remove": lambda: services.remove_identity(USER, "off", ACTOR),
}


@pytest.mark.parametrize("action", sorted(OPERATIONS))
def test_nothing_is_half_done(monkeypatch, action):
    services.add_identity(USER, "live", "live-key", ACTOR)
    services.add_identity(USER, "off", "off-key", ACTOR)
    services.disable_identity(USER, "off", ACTOR)
    before = everything()

    take_neo4j_down_after_begin(monkeypatch)
    with pytest.raises(ServiceUnavailable):
        OPERATIONS[action]()
    monkeypatch.undo()
    (write,) = IdentityWrite.objects.filter(state="pending")
    assert write.action == action
    graph, audit_rows, parked, _ = everything()
    assert (graph, audit_rows, parked) == before[:3]

    out = reconcile()
    assert "abandoned (never happened)" in out and "the change never happened" in out
    assert IdentityWrite.objects.get(pk=write.pk).state == "abandoned"
    assert everything()[:3] == before[:3]
    assert alchemiscale_verifies("live-key", stored("user", "live")[1]["hashed_key"])
    assert "works again" in services.enable_identity(USER, "off", ACTOR)
    assert alchemiscale_verifies("off-key", stored("user", "off")[1]["hashed_key"])
    assert_reconcile_again_changes_nothing()


def test_a_failed_write_is_abandoned_at_once_when_neo4j_can_be_read(monkeypatch):
    services.add_identity(USER, "d", "the-key", ACTOR)
    before = everything()[:3]
    real_cypher = store.cypher

    def write_fails(query, params=None):
        if "SET n.hashed_key" in query:
            raise ServiceUnavailable("connection reset before commit (injected by the test)")
        return real_cypher(query, params)

    monkeypatch.setattr(store, "cypher", write_fails)
    with pytest.raises(ServiceUnavailable):
        services.disable_identity(USER, "d", ACTOR)
    monkeypatch.undo()
    assert everything()[:3] == before
    assert IdentityWrite.objects.get(action="disable").outcome.endswith("the change never happened")
    assert alchemiscale_verifies("the-key", stored("user", "d")[1]["hashed_key"])
    assert_reconcile_again_changes_nothing()


def test_reconcile_without_neo4j_fails_clearly_and_keeps_the_change_unfinished(monkeypatch):
    services.add_identity(USER, "d", "the-key", ACTOR)
    take_neo4j_down_after_begin(monkeypatch)
    with pytest.raises(ServiceUnavailable):
        services.disable_identity(USER, "d", ACTOR)
    with pytest.raises(CommandError, match="could not read Neo4j"):
        reconcile()
    monkeypatch.undo()
    assert IdentityWrite.objects.get(action="disable").state == "pending"
    reconcile()
    assert IdentityWrite.objects.get(action="disable").state == "abandoned"


def test_a_write_whose_answer_was_lost_is_settled_at_once(monkeypatch):
    """Neo4j commits the rotation but the answer never arrives: Neo4j is read, the change is complete, the key given."""
    services.add_identity(USER, "r", "old-key", ACTOR)
    real_cypher = store.cypher

    def answer_lost(query, params=None):
        rows = real_cypher(query, params)
        if "SET n.hashed_key" in query:
            raise ServiceUnavailable("connection reset after commit (injected by the test)")
        return rows

    monkeypatch.setattr(store, "cypher", answer_lost)
    key = services.rotate_key(USER, "r", None, ACTOR)
    monkeypatch.undo()
    assert alchemiscale_verifies(key, stored("user", "r")[1]["hashed_key"])
    assert IdentityWrite.objects.get(action="rotate-key").state == "done"
    assert_reconcile_again_changes_nothing()
