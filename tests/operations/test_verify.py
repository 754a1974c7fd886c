"""Verifying a backup: a real dump loaded into a real scratch Neo4j, checked and counted, the live one untouched;
a dump changed in the middle, a truncated one and one whose counts differ are each failed with the reason.

The local target only: the scratch Neo4j is the local target's (docs/verification.md says what Docker does). The
runs are carried out in this process (as ``--here`` does), which keeps the test to one backup and two scratch
servers.
"""

import shutil

import pytest

from operations import runner, services
from operations.models import Backup
from operations.procedures.dumps import sha256_of

from .conftest import seed_graph

pytestmark = pytest.mark.django_db(transaction=True)


def _verify(backup: Backup):
    run = services.request_verify(backup, None, label="test", send=False)
    run = runner.execute(run.pk)
    backup.refresh_from_db()
    return run, backup


def _copy(target, backup: Backup, name: str, **catalog) -> Backup:
    """Another catalog row for a copy of ``backup``'s dump named ``name`` (fields of the catalog overridden)."""
    shutil.copyfile(target.backup_dir / backup.file_name, target.backup_dir / name)
    fields = {f.name: getattr(backup, f.name) for f in Backup._meta.concrete_fields
              if f.name not in ("id", "file_name", "made_by_run", "requested_by", "verified_by_run")}
    return Backup.objects.create(**{**fields, "file_name": name, **catalog})


@pytest.mark.parametrize("target", ["local"], indirect=True)
def test_verification_proves_a_good_dump_and_fails_damaged_ones_with_the_reason(target):
    seed_graph(target, "verify", n=10)
    made = runner.execute(services.request_backup(None, label="test", send=False, target=target).pk)
    assert made.status == "succeeded", made.error
    good = Backup.objects.get()
    live_pid = target.instance.pid()

    run, good = _verify(good)
    assert run.status == "succeeded", run.error
    assert [s.status for s in run.steps.order_by("position")] == ["ok"] * 8
    assert good.verification == "ok" and good.verified_by_run == run and good.verified_at is not None
    assert f"{good.node_count} nodes and {good.relationship_count} relationships, as in the catalog" in \
        good.verification_detail
    # The live Neo4j was neither stopped nor replaced; the scratch is gone.
    assert target.instance.pid() == live_pid and target.is_up()
    assert not target.scratch_dir().exists()

    # Bytes changed in the middle, and a truncated copy, in one run (as the admin action on many asks): the
    # catalog's SHA-256 and size catch each before anything is loaded, and the run names both.
    changed = _copy(target, good, "neo4j-20000101-000001.dump")
    path = target.backup_dir / changed.file_name
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 16] = bytes(b ^ 0xFF for b in data[middle:middle + 16])
    path.write_bytes(bytes(data))
    short = _copy(target, good, "neo4j-20000101-000002.dump")
    with open(target.backup_dir / short.file_name, "r+b") as fh:
        fh.truncate(good.size // 2)
    run = runner.execute(services.request_verify([changed, short], None, label="test", send=False).pk)
    changed.refresh_from_db()
    short.refresh_from_db()
    assert run.status == "failed" and changed.verification == short.verification == "failed"
    assert f"its SHA-256 is {sha256_of(path)}, the catalog says {good.sha256}" in changed.verification_detail
    assert f"has {good.size // 2} bytes, the catalog says {good.size}" in short.verification_detail
    assert changed.file_name in run.error and short.file_name in run.error
    assert not target.scratch_dir().exists()

    # Truncated and catalogued as it is (damaged before it was checksummed): the scratch load refuses it.
    path = target.backup_dir / short.file_name
    short.size, short.sha256 = path.stat().st_size, sha256_of(path)
    short.save()
    run, short = _verify(short)
    assert run.status == "failed" and short.verification == "failed", run.error
    assert f"{short.file_name} does not load: neo4j-admin exited with" in short.verification_detail
    assert [s.status for s in run.steps.order_by("position")] == ["ok", "failed", "ok", "ok", "ok", "ok", "failed",
                                                                  "ok"]
    assert run.steps.get(position=3).output.startswith("not run: an earlier check of this backup failed")
    assert not target.scratch_dir().exists()

    # Intact, but the catalog counts one node more than the dump holds.
    off = _copy(target, good, "neo4j-20000101-000003.dump", node_count=good.node_count + 1)
    run, off = _verify(off)
    assert run.status == "failed" and off.verification == "failed"
    assert (f"the loaded dump has {good.node_count} nodes and {good.relationship_count} relationships; the catalog "
            f"says {good.node_count + 1} and {good.relationship_count}") in off.verification_detail
    assert target.instance.pid() == live_pid and not target.scratch_dir().exists()
