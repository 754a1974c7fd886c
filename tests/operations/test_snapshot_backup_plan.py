"""The online-snapshot backup's choice and plan against the stand-in target (tests/fake_target.py), unit tier: which
procedure a backup takes and why (recorded in its parameters when requested, shown in the preview), its steps and
commands, and a run on the stand-in with configured snapshot commands. The configured commands here are STAND-INS
for a storage snapshot (a tar copy in a shell: not atomic, fine for a store nothing writes to); the real thing, a btrfs
snapshot of a running Neo4j under writes, is tests/operations/test_snapshot_backup.py."""

from __future__ import annotations

import pytest

from operations.backups import services
from operations.backups.procedures.backup import BackupProcedure
from operations.models import Backup
from operations.runs import engine
from operations.runs import requests as run_requests

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

CREATE = [
    "sh",
    "-c",
    'cd "$1" && tar -cf - --exclude=./portal-snapshot . | tar -xpf - -C "$2"',
    "snap",
    "{source}",
    "{snapshot}",
]
REMOVE = ["sh", "-c", 'rm -rf "$1"', "snap", "{snapshot}"]


@pytest.fixture
def store(fake_target, tmp_path, settings):
    """The stand-in's data directory holds a store (two databases, their logs, the auth file); snapshot commands set."""
    fake_target.home = tmp_path / "neo4j"
    for rel in ("databases/neo4j", "databases/system", "transactions/neo4j", "transactions/system", "dbms"):
        (fake_target.data_dir / rel).mkdir(parents=True)
    (fake_target.data_dir / "databases/neo4j/neostore").write_bytes(b"store")
    (fake_target.data_dir / "transactions/neo4j/neostore.transaction.db.0").write_bytes(b"log")
    (fake_target.data_dir / "dbms/auth.ini").write_text("neo4j:secret")
    settings.SNAPSHOT_CREATE_COMMAND, settings.SNAPSHOT_REMOVE_COMMAND = CREATE, REMOVE
    return fake_target


def test_configured_snapshot_commands_make_every_backup_an_online_snapshot(store):
    plan = {s["name"]: s for s in services.preview_backup(store)}
    assert list(plan) == [
        "check the backups directory",
        "record the current state",
        "snapshot the live data directory",
        "recover the snapshot",
        "dump the snapshot",
        "remove the snapshot",
        "name the backup",
        "checksum and catalog",
        "copy the portal's database",
        "copy off-site",
    ]
    assert "stop Neo4j" not in plan and "start Neo4j" not in plan
    snap = store.snapshot_dir()
    assert plan["snapshot the live data directory"]["commands"] == [
        [*CREATE[:4], str(store.data_dir), str(snap / "data")]
    ]
    assert "NO OUTAGE" in plan["snapshot the live data directory"]["description"]
    assert (
        "online snapshot: no outage (PORTAL_SNAPSHOT_CREATE_COMMAND"
        in plan["check the backups directory"]["description"]
    )
    assert plan["dump the snapshot"]["commands"] == [
        [
            f"NEO4J_CONF={snap}/conf",
            f"{store.home}/bin/neo4j-admin",
            "database",
            "dump",
            "neo4j",
            "--to-path=/backups/.in-progress-fake",
        ]
    ]
    assert plan["remove the snapshot"]["when"] == "always"
    params = BackupProcedure(store, {}).params
    assert params["procedure"] == "online-snapshot" and "snapshots" in params["procedure_why"]


def test_without_snapshot_support_the_backup_says_why_it_takes_an_outage(store, settings):
    settings.SNAPSHOT_REMOVE_COMMAND = []
    params = BackupProcedure(store, {}).params
    assert params["procedure"] in ("short-outage", "offline")
    assert params["procedure_why"].startswith("only one of PORTAL_SNAPSHOT_CREATE_COMMAND")
    settings.SNAPSHOT_CREATE_COMMAND = []
    why = BackupProcedure(store, {}).params["procedure_why"]
    assert f"data directory {store.data_dir} is not a btrfs subvolume" in why
    settings.SNAPSHOT_CREATE_COMMAND, settings.SNAPSHOT_REMOVE_COMMAND = CREATE, REMOVE
    settings.ONLINE_SNAPSHOTS = "off"
    assert "PORTAL_ONLINE_SNAPSHOTS=off" in BackupProcedure(store, {}).params["procedure_why"]
    # A run requested before procedures were recorded keeps the path it was planned with.
    assert BackupProcedure(store, {"snapshot": True}).params["procedure"] == "short-outage"


def test_an_online_snapshot_backup_on_the_stand_in_never_stops_neo4j_and_is_catalogued_as_such(store):
    def dump(args):
        (store.backup_dir / ".in-progress-fake" / "neo4j.dump").write_bytes(b"a dump")
        return 0, ""

    seen = {}
    real_counts = store.side_counts

    def side_counts(root):
        seen["kept"] = sorted(str(p.relative_to(root / "data")) for p in (root / "data").rglob("*"))
        return real_counts(root)

    store.on_admin, store.side_counts = dump, side_counts
    run = engine.execute(run_requests.request(BackupProcedure(store, {}), user=None, label="test", send=False).pk)
    assert run.status == "succeeded", run.error
    assert ("stop",) not in store.calls and ("start",) not in store.calls and store.up
    # Only the database's store and logs stay in the snapshot: no system database, no auth file.
    assert seen["kept"] == [
        "databases",
        "databases/neo4j",
        "databases/neo4j/neostore",
        "transactions",
        "transactions/neo4j",
        "transactions/neo4j/neostore.transaction.db.0",
    ]
    assert (
        "side_admin",
        str(store.snapshot_dir()),
        "database",
        "dump",
        "neo4j",
        "--to-path=/backups/.in-progress-fake",
    ) in store.calls
    backup = Backup.objects.get()
    assert backup.procedure == "online-snapshot" and (backup.node_count, backup.relationship_count) == (48, 62)
    assert not store.snapshot_dir().exists()
    assert (store.data_dir / "dbms/auth.ini").exists() and (store.data_dir / "databases/system").is_dir()


def test_a_failing_snapshot_command_fails_before_anything_and_leaves_no_side_store(store, settings):
    settings.SNAPSHOT_CREATE_COMMAND = ["sh", "-c", "echo 'no space in the pool' >&2; exit 3"]
    run = engine.execute(run_requests.request(BackupProcedure(store, {}), user=None, label="test", send=False).pk)
    assert run.status == "failed"
    assert "exited with 3: no space in the pool" in run.error and "Neo4j was not stopped" in run.error
    assert ("stop",) not in store.calls and not store.snapshot_dir().exists() and Backup.objects.count() == 0
    statuses = {s.name: s.status for s in run.steps.all()}
    assert statuses["recover the snapshot"] == "skipped" and statuses["remove the snapshot"] == "ok"
