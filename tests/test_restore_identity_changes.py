"""What a restore does to each identity (identities/store_diff.py): compared from the rows both stores give, said in
words, and recorded as one audit entry per identity, never with a key hash. Unit tier; the real restores on both
targets check the same in tests/operations/test_backup_restore_roundtrip.py."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identities.models import AuditEntry
from identities.store_diff import COMES_BACK, GOES, compare, record_restore
from security.actors import Actor

pytestmark = pytest.mark.unit

LIVE = [
    ["user", "ada", ["a-b-c"], False, "h-ada"],
    ["user", "bob", ["a-b-c", "x-y-z"], False, "h-bob"],
    ["compute", "crunch", ["a-*-*"], False, "h-crunch"],
    ["user", "dan", [], True, "h-dan"],
    ["user", "eve", ["a-b-c"], False, "h-eve-new"],
    ["user", "same", ["q-r-s"], False, "h-same"],
]
BACKUP = [
    ["user", "ada", ["a-b-c"], False, "h-ada"],  # unchanged
    ["user", "bob", ["a-b-c"], False, "h-bob"],  # scope x-y-z goes
    ["user", "carl", ["a-b-c"], False, "h-carl"],  # comes back
    ["user", "dan", [], False, "h-dan"],  # enabled again
    ["user", "eve", ["a-b-c", "n-e-w"], False, "h-eve-old"],  # scope and key
    ["user", "same", ["q-r-s"], False, "h-same"],
]


def test_each_identity_that_differs_once_in_words():
    changes = {(c.kind, c.identifier): c for c in compare(LIVE, BACKUP)}
    assert sorted(changes) == [
        ("compute", "crunch"),
        ("user", "bob"),
        ("user", "carl"),
        ("user", "dan"),
        ("user", "eve"),
    ]
    words = {k[1]: c.words() for k, c in changes.items()}
    assert words["carl"] == "user carl comes back (scopes a-b-c)"
    assert words["crunch"] == "compute crunch goes (it is not in the backup)"
    assert words["bob"] == "user bob: scope x-y-z goes"
    assert words["dan"] == "user dan: enabled again"
    assert words["eve"] == "user eve: scope n-e-w comes back; its key is the backup's (the current key stops working)"
    assert "h-" not in str([c.as_dict() for c in changes.values()])  # no key hash is kept


@pytest.mark.django_db
def test_one_audit_entry_per_identity_by_who_asked_and_no_hash():
    changes = compare(LIVE, BACKUP)
    assert record_restore(Actor.from_label("cli:root"), changes, note="restore of neo4j-x.dump (run #7)") == 5
    rows = {e.identifier: e for e in AuditEntry.objects.all()}
    assert {k: rows[k].action for k in rows} == {
        "bob": "set-scopes",
        "carl": "add",
        "crunch": "remove",
        "dan": "enable",
        "eve": "change",
    }
    assert {(e.actor_kind, e.actor) for e in rows.values()} == {("cli", "root")}
    assert rows["crunch"].identity_kind == "compute" and rows["eve"].after["key"] == "as in the backup"
    assert all(e.note == "restore of neo4j-x.dump (run #7)" for e in rows.values())
    assert "h-" not in str([(e.before, e.after) for e in rows.values()])


def test_actor_labels_read_back():
    for actor in (Actor("staff", "alice"), Actor("cli", "root"), Actor.schedule("nightly"), Actor.drill()):
        assert Actor.from_label(actor.label) == actor


rows = st.lists(
    st.tuples(
        st.sampled_from(["user", "compute"]),
        st.sampled_from(["a", "b", "c", "d", "e"]),
        st.lists(st.sampled_from(["a-b-c", "x-*-*", "q-r-s"]), unique=True, max_size=3),
        st.booleans(),
        st.sampled_from(["h1", "h2"]),
    ).map(list),
    max_size=8,
    unique_by=lambda r: (r[0], r[1]),
)


@given(live=rows, restored=rows)
def test_comparing_is_complete_and_restoring_the_same_store_changes_nothing(live, restored):
    changes = compare(live, restored)
    keys = {(c.kind, c.identifier) for c in changes}
    assert len(keys) == len(changes)
    live_keys, restored_keys = {(r[0], r[1]) for r in live}, {(r[0], r[1]) for r in restored}
    assert {(c.kind, c.identifier) for c in changes if c.change == COMES_BACK} == restored_keys - live_keys
    assert {(c.kind, c.identifier) for c in changes if c.change == GOES} == live_keys - restored_keys
    assert compare(restored, restored) == []
