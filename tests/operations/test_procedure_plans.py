"""Procedure plans against a stand-in target (tests/fake_target.py), unit tier: the steps, their order, when they
run and the exact neo4j-admin commands each Neo4j version gets; and a backup carried out by the runner on the
stand-in, where neo4j-admin's success and its death by a signal are played by the stand-in. The real thing, on real
Neo4j, is what tests/operations/test_backup_restore_roundtrip.py and the other scenario tests do."""

import hashlib

import pytest

from operations.backups import services
from operations.backups.procedures.backup import BackupProcedure
from operations.backups.procedures.restore import RestoreProcedure
from operations.backups.procedures.verify import VerifyProcedure
from operations.models import Backup
from operations.runs import contract, engine
from operations.runs import requests as run_requests

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

ADMIN = "/opt/neo4j/bin/neo4j-admin"


def by_name(plan):
    return {step["name"]: step for step in plan}


def test_backup_plan_on_neo4j_5(fake_target):
    plan = services.preview_backup(fake_target)
    assert [s["name"] for s in plan] == [
        "check the backups directory",
        "record the current state",
        "stop Neo4j",
        "dump",
        "start Neo4j",
        "name the backup",
        "checksum and catalog",
        "copy the portal's database",
        "copy off-site",
    ]
    assert [s["position"] for s in plan] == list(range(1, 10))
    steps = by_name(plan)
    assert steps["dump"]["commands"] == [[ADMIN, "database", "dump", "neo4j", "--to-path=/backups/.in-progress-fake"]]
    assert steps["start Neo4j"]["when"] == "always"
    assert {s["when"] for n, s in steps.items() if n != "start Neo4j"} == {"ok"}
    assert str(fake_target.backup_dir) in steps["name the backup"]["description"]


def test_backup_plan_on_neo4j_44_uses_its_own_dump_syntax(fake_target):
    fake_target.version = "4.4.44"
    dump = by_name(services.preview_backup(fake_target))["dump"]
    assert dump["commands"] == [[ADMIN, "dump", "--database=neo4j", "--to=/backups/.in-progress-fake/neo4j.dump"]]


def test_restore_plan_loads_and_checks_beside_the_live_store_before_the_outage(fake_target):
    steps = RestoreProcedure(fake_target, {"backup_id": 1}).steps()
    names = [s.name for s in steps]
    # The load and its check happen while Neo4j serves; the outage holds only the swap; the safety dump comes after.
    assert (
        names.index("load the backup")
        < names.index("check the staged store")
        < names.index("stop Neo4j")
        < names.index("swap the stores")
        < names.index("start Neo4j")
        < names.index("verify")
        < names.index("safety backup: dump the set-aside data")
        < names.index("discard the set-aside data")
    )
    when = {s.name: s.when for s in steps}
    assert (when["roll back"], when["make sure Neo4j runs"], when["remove the staging store"]) == (
        "failure",
        "always",
        "always",
    )
    staging = fake_target.staging_dir()
    load = next(s for s in steps if s.name == "load the backup")
    assert load.commands == [
        [f"NEO4J_CONF={staging}/conf", ADMIN, "database", "load", "neo4j", "--from-path=/backups/.in-progress-fake"]
    ]
    swap = next(s for s in steps if s.name == "swap the stores")
    live = fake_target.database_dirs()[0]
    assert f"{live} -> /opt/neo4j/data/portal-restore-aside/data/databases/neo4j" in swap.description
    assert not any(s.required is False and "load" in s.name for s in steps)


def test_restore_and_verify_refuse_a_backup_that_is_not_in_the_catalog(fake_target):
    with pytest.raises(contract.OperationFailed, match="is not in the catalog of target 'fake'"):
        RestoreProcedure(fake_target, {"backup_id": 12345}).validate()
    with pytest.raises(contract.OperationFailed, match="not in the catalog of target 'fake'"):
        VerifyProcedure(fake_target, {"backup_ids": [12345]}).validate()
    assert Backup.objects.count() == 0


def _request_backup(fake_target):
    return run_requests.request(BackupProcedure(fake_target, {}), user=None, label="test", send=False)


def test_a_backup_on_the_stand_in_is_named_checksummed_and_catalogued(fake_target):
    def dump(args):
        (fake_target.backup_dir / ".in-progress-fake" / "neo4j.dump").write_bytes(b"a dump")
        return 0, "Done: 1 files, 6B processed."

    fake_target.on_admin = dump
    run = engine.execute(_request_backup(fake_target).pk)
    assert run.status == "succeeded", run.error
    # The backups directory is given to the data owner first (owner-only: docs/backups.md).
    assert fake_target.calls[:3] == [("fix_ownership", str(fake_target.backup_dir)), ("wait_for_bolt",), ("stop",)]
    assert ("admin", "database", "dump", "neo4j", "--to-path=/backups/.in-progress-fake") in fake_target.calls
    assert fake_target.up and fake_target.calls.index(("start",)) > fake_target.calls.index(("stop",))
    backup = Backup.objects.get()
    assert (backup.node_count, backup.relationship_count, backup.size) == (48, 62, 6)
    assert backup.sha256 == hashlib.sha256(b"a dump").hexdigest() and backup.made_by_run_id == run.pk
    assert (fake_target.backup_dir / backup.file_name).read_bytes() == b"a dump"
    assert not (fake_target.backup_dir / ".in-progress-fake").exists()
    assert any(e["message"] == f"$ {ADMIN} database dump neo4j --to-path=/backups/.in-progress-fake" for e in run.log)


def test_a_dump_killed_by_a_signal_fails_the_run_removes_the_partial_file_and_starts_neo4j_again(fake_target):
    def killed(args):
        (fake_target.backup_dir / ".in-progress-fake" / "neo4j.dump").write_bytes(b"half a du")
        return -9, ""

    fake_target.on_admin = killed
    run = engine.execute(_request_backup(fake_target).pk)
    assert run.status == "failed"
    assert "dump: the dump failed: neo4j-admin was killed by signal 9 (SIGKILL)" in run.error
    assert fake_target.up and ("start",) in fake_target.calls
    assert not (fake_target.backup_dir / ".in-progress-fake").exists() and Backup.objects.count() == 0
    statuses = {s.name: s.status for s in run.steps.all()}
    assert (statuses["dump"], statuses["start Neo4j"], statuses["name the backup"]) == ("failed", "ok", "skipped")
    assert any(e["level"] == "warning" and "removed the partial dump" in e["message"] for e in run.log)
