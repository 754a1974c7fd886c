"""Files and catalog set right again (operations/backups/reconcile.py), unit tier: real files in a scratch backups
directory, real catalog rows in the portal's database, the stand-in target (tests/fake_target.py).

One backups directory holding every kind of drift: a complete dump without a row (with its portal database copy
beside it), a file named like a dump that is none, a download an rclone left half done, an unfinished dump, a row
whose dump a killed prune removed, and a row whose dump is gone but that has an off-site copy (which is fine)."""

import datetime as dt
import io
import os
import stat

import pytest
from django.core.management import call_command
from django.utils import timezone

from operations.backups import reconcile
from operations.backups.procedures.dumps import in_progress_dir, sha256_of
from operations.models import Backup, BackupCopy, OperationRun, RunStatus
from operations.runs import startup

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

ZSTD_DUMP = b"DZV1(\xb5/\xfd" + os.urandom(2000)


def _row(name: str, **kwargs) -> Backup:
    return Backup.objects.create(
        file_name=name,
        target="fake",
        database="neo4j",
        size=10,
        sha256="0" * 64,
        neo4j_version="5.26.12",
        requested_by_label="test",
        **kwargs,
    )


@pytest.fixture
def drifted(fake_target):
    d = fake_target.backup_dir
    d.mkdir()
    (d / "neo4j-20261201-030000.dump").write_bytes(ZSTD_DUMP)
    (d / "neo4j-20261201-030000.portal.sqlite3").write_bytes(b"SQLite format 3\0")
    (d / "neo4j-20261202-030000.dump").write_bytes(b"<html>not a dump</html>")
    (d / ".fetching-neo4j-20261101-030000.dump").write_bytes(b"DZV1 half")
    in_progress_dir(fake_target).mkdir()
    (in_progress_dir(fake_target) / "neo4j.dump").write_bytes(b"DZV1 unfinished")
    (d / "neo4j-20261103-030000.dump").write_bytes(ZSTD_DUMP)
    kept = _row("neo4j-20261103-030000.dump")
    pruned = _row("neo4j-20261104-030000.dump")
    offsite_only = _row("neo4j-20261105-030000.dump")
    BackupCopy.objects.create(backup=offsite_only, remote="offsite:b", path="fake/x", state=BackupCopy.State.OK)
    return {"kept": kept, "pruned": pruned, "offsite_only": offsite_only}


def test_find_says_what_is_wrong_and_changes_nothing(fake_target, drifted):
    d = fake_target.backup_dir
    before = sorted(p.name for p in d.rglob("*"))
    found = {(f.kind, f.path.name if f.path else f.backup.file_name) for f in reconcile.find(fake_target)}
    assert found == {
        ("uncatalogued", "neo4j-20261201-030000.dump"),
        ("unreadable", "neo4j-20261202-030000.dump"),
        ("partial", ".fetching-neo4j-20261101-030000.dump"),
        ("partial", ".in-progress-fake"),
        ("missing", "neo4j-20261104-030000.dump"),
    }
    assert sorted(p.name for p in d.rglob("*")) == before and Backup.objects.count() == 3
    assert Backup.objects.exclude(missing_since=None).count() == 0


def test_repair_catalogues_moves_aside_removes_and_marks(fake_target, drifted):
    d = fake_target.backup_dir
    lines = reconcile.repair(reconcile.find(fake_target), fake_target)
    assert len(lines) == 5

    found = Backup.objects.get(file_name="neo4j-20261201-030000.dump")
    assert (found.purpose, found.procedure, found.requested_by_label) == ("found", "unknown", "reconcile")
    assert (found.size, found.sha256) == (len(ZSTD_DUMP), sha256_of(d / found.file_name))
    assert found.created_at == dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC) and found.target == "fake"
    assert (found.node_count, found.neo4j_version) == (None, "5.26.12")
    assert "counts are unknown" in found.verification_detail and found.verification == "never"
    assert found.portal_db_file == "neo4j-20261201-030000.portal.sqlite3" and found.portal_db_size == 16
    assert f"catalogued as #{found.pk} (found)" in "\n".join(lines)

    # Not a dump: moved aside, whole, never catalogued nor deleted.
    aside = d / "orphans" / "neo4j-20261202-030000.dump"
    assert aside.read_bytes() == b"<html>not a dump</html>" and not (d / aside.name).exists()
    assert stat.S_IMODE((d / "orphans").stat().st_mode) == 0o700
    assert not Backup.objects.filter(file_name=aside.name).exists()

    # Leftovers of transfers: gone.
    assert not (d / ".fetching-neo4j-20261101-030000.dump").exists() and not in_progress_dir(fake_target).exists()

    # The pruned row stays, marked; the row with an off-site copy and the one whose file is there are untouched.
    pruned = Backup.objects.get(pk=drifted["pruned"].pk)
    assert pruned.missing_since is not None and timezone.now() - pruned.missing_since < dt.timedelta(minutes=1)
    assert (
        Backup.objects.filter(pk__in=[drifted["kept"].pk, drifted["offsite_only"].pk], missing_since=None).count() == 2
    )

    # A second pass finds nothing; a dump that comes back loses its mark.
    assert reconcile.find(fake_target) == []
    (d / pruned.file_name).write_bytes(ZSTD_DUMP)
    assert [f.kind for f in reconcile.find(fake_target)] == ["back"]
    reconcile.repair(reconcile.find(fake_target), fake_target)
    assert Backup.objects.get(pk=pruned.pk).missing_since is None


def test_nothing_is_repaired_while_a_run_is_running(fake_target, drifted):
    run = OperationRun.objects.create(kind="backup", target="fake", status=RunStatus.RUNNING, requested_by_label="t")
    lines = reconcile.repair(reconcile.find(fake_target), fake_target)
    assert len(lines) == 5 and all(
        line.endswith(f"left as it is, backup #{run.pk} is running on fake") for line in lines
    )
    assert (fake_target.backup_dir / ".fetching-neo4j-20261101-030000.dump").exists()
    assert Backup.objects.count() == 3 and not Backup.objects.exclude(missing_since=None).exists()


def test_the_command_and_the_worker_start(fake_target, drifted, settings):
    settings.OPERATIONS_TARGET = "fake"
    out = io.StringIO()
    call_command("reconcile-backups", "--dry-run", stdout=out)
    assert "uncatalogued: " in out.getvalue() and "dry run: 5 finding(s); nothing was changed" in out.getvalue()
    assert Backup.objects.count() == 3

    # The backups app registered the pass with the run machinery's start-up registry: a starting worker runs it.
    assert startup.CALLBACKS["backups.reconcile"] is reconcile.at_worker_start
    assert startup.run_all() == []
    assert Backup.objects.count() == 4 and reconcile.find(fake_target) == []
    out = io.StringIO()
    call_command("reconcile_backups", stdout=out)
    assert out.getvalue().strip() == "files and catalog agree"
