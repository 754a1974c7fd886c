"""Back up through the admin, change the data, restore through the admin: the store is exactly as backed up."""

import contextlib
import os
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse

from identities import inventory
from identities.models import AuditEntry
from operations.backups.procedures.dumps import in_progress_dir, sha256_of
from operations.backups.procedures.restore import aside_dir
from operations.models import Backup, OperationRun

from .conftest import graph_snapshot, seed_graph, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def _assert_portal_db_copy(target, backup: Backup) -> None:
    """Beside the dump, named after it: a copy of the portal's database (SQLite: holding the backup's own catalog
    row and its run; PostgreSQL: pg_dump's archive of the same tables), with the catalog's size and checksum."""
    path = backup.portal_db_path_in(target.backup_dir)
    postgres = connection.vendor == "postgresql"
    assert path is not None
    assert path.name == backup.file_name.replace(".dump", ".portal.pgdump" if postgres else ".portal.sqlite3")
    assert path.is_file() and path.stat().st_size == backup.portal_db_size
    assert sha256_of(path) == backup.portal_db_sha256
    if postgres:
        listed = subprocess.run(["pg_restore", "--list", str(path)], capture_output=True, text=True, check=True)
        assert "TABLE DATA public operations_backup" in listed.stdout
        assert "TABLE DATA public operations_operationrun" in listed.stdout
        return
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        row = copy.execute(
            "SELECT file_name, sha256, made_by_run_id, portal_db_file FROM operations_backup WHERE id = ?", [backup.pk]
        ).fetchone()
        run = copy.execute(
            "SELECT kind, status FROM operations_operationrun WHERE id = ?", [backup.made_by_run_id]
        ).fetchone()
    # Taken after the catalog row was written, before the copy itself was recorded on it; its run was running.
    assert row == (backup.file_name, backup.sha256, backup.made_by_run_id, "")
    assert run == (backup.made_by_run.kind, "running")


def _assert_owner_only(directory: Path, before: set[Path]) -> None:
    """The backups directory and everything a run left in it that was not there before: readable by their owner
    only (files 0600, directories 0700). A portal database copy holds password hashes and the audit log."""
    left = [directory]
    for root, dirs, files in os.walk(directory):
        left += [Path(root, name) for name in dirs + files if Path(root, name) not in before]
    wrong = [
        f"{path}: {stat.filemode(path.lstat().st_mode)}"
        for path in left
        if stat.S_IMODE(path.lstat().st_mode) != (0o700 if path.is_dir() else 0o600)
    ]
    assert len(left) > 1 and wrong == []


def test_backup_change_restore_gives_back_the_backed_up_graph(target, alice_client, celery_worker_process):
    before = set(target.backup_dir.rglob("*"))
    seed_graph(target, "before")
    backed_up = graph_snapshot(target)
    counts = target.counts()

    response = alice_client.post(reverse("admin:operations_backup_now"))
    run = OperationRun.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "admin:operations_operationrun_change", args=[run.pk]
    )
    run = wait_for(run)
    assert run.status == "succeeded", run.error
    assert [s.status for s in run.steps.order_by("position")] == ["ok"] * run.steps.count()
    assert run.requested_by.username == "alice" and run.finished_at >= run.started_at >= run.requested_at

    backup = Backup.objects.get()
    path = target.backup_dir / backup.file_name
    assert backup.file_name.startswith("neo4j-") and backup.file_name.endswith(".dump")
    assert path.is_file() and path.stat().st_size == backup.size
    assert sha256_of(path) == backup.sha256
    assert (backup.node_count, backup.relationship_count) == counts
    assert backup.neo4j_version == target.neo4j_version() and backup.made_by_run == run
    assert backup.requested_by_label == "alice"
    assert not in_progress_dir(target).exists()
    assert target.is_up() and graph_snapshot(target) == backed_up
    _assert_portal_db_copy(target, backup)
    _assert_owner_only(target.backup_dir, before)
    listing = alice_client.get(reverse("admin:operations_backup_changelist")).content.decode()
    assert backup.file_name in listing and reverse("admin:operations_backup_restore", args=[backup.pk]) in listing
    assert (
        backup.portal_db_file
        in alice_client.get(reverse("admin:operations_backup_change", args=[backup.pk])).content.decode()
    )

    # Change the data every way: remove, add, modify.
    target.query("MATCH (n:CredentialedUserIdentity) WHERE n.identifier ENDS WITH '-user-3' DETACH DELETE n")
    target.query("MATCH (n:AlchemicalNetwork) SET n.weight = -1")
    seed_graph(target, "after", n=7)
    target.query("CREATE (:GufeTokenizable {_scoped_key: 'k-gone', _org: 'gone', _campaign: 'c', _project: 'p'})")
    target.query("MATCH (n:CredentialedUserIdentity {identifier: 'before-user-5'}) SET n.scopes = n.scopes + 'a-b-c'")
    target.query("MATCH (n:CredentialedUserIdentity {identifier: 'before-user-6'}) SET n.hashed_key = 'rotated'")
    changed = graph_snapshot(target)
    assert changed != backed_up

    # A dump that does not hold what the catalog says is refused in staging: Neo4j is never stopped for it.
    Backup.objects.filter(pk=backup.pk).update(node_count=backup.node_count + 1)
    pid_before = target.pid() if target.name == "local" else None  # the same server process after the refusal
    alice_client.post(
        reverse("admin:operations_backup_restore", args=[backup.pk]), {"confirmation": target.connection.database}
    )
    refused = wait_for(OperationRun.objects.get(kind="restore"))
    assert refused.status == "failed" and "check the staged store" in refused.error, refused.error
    assert (
        f"the catalog says {backup.node_count + 1}" in refused.error and "live store was not touched" in refused.error
    )
    assert refused.steps.get(name="stop Neo4j").status == "skipped" and "outage_started" not in refused.state
    assert graph_snapshot(target) == changed and not target.staging_dir().exists()
    assert not AuditEntry.objects.exists()  # a refused restore changed no identity
    if pid_before is not None:
        assert target.pid() == pid_before
    Backup.objects.filter(pk=backup.pk).update(node_count=backup.node_count)

    # The scopes inventory (identities/inventory.py) is cached in Redis for every process: this one fills it now,
    # and the restore, run by the worker (another process), must drop it for all.
    local = target.name == "local"  # the store this process reads is the local target's
    # The backup restarted Neo4j under this process's pooled Bolt connections: the first query still answers
    # (identities/connection.py).
    assert ("gone-c-p" in inventory.data_scopes()) is local and cache.get(inventory._DATA_KEY) is not None

    page = alice_client.get(reverse("admin:operations_backup_restore", args=[backup.pk]))
    nodes, rels = target.counts()
    assert f"{nodes} nodes and {rels} relationships" in page.content.decode()
    response = alice_client.post(
        reverse("admin:operations_backup_restore", args=[backup.pk]), {"confirmation": target.connection.database}
    )
    restore = OperationRun.objects.filter(kind="restore").latest("pk")
    assert response.status_code == 302
    restore = wait_for(restore)
    assert restore.status == "succeeded", restore.error

    assert target.is_up()
    assert graph_snapshot(target) == backed_up
    assert target.counts() == counts
    assert cache.get(inventory._DATA_KEY) is None, "the worker's restore did not drop the shared scopes cache"
    assert "gone-c-p" not in inventory.data_scopes()
    # The state it replaced was kept as a safety backup, and nothing is left aside.
    safety = Backup.objects.get(purpose=Backup.Purpose.SAFETY)
    assert safety.made_by_run == restore and (target.backup_dir / safety.file_name).is_file()
    assert (safety.node_count, safety.relationship_count) == (nodes, rels)
    _assert_portal_db_copy(target, safety)
    _assert_owner_only(target.backup_dir, before)
    assert not aside_dir(target).exists() and not in_progress_dir(target).exists()
    steps = {s.name: s.status for s in restore.steps.all()}
    assert steps["roll back"] == "skipped" and steps["verify"] == "ok"
    # Who came back, went or changed: said before the outage (from the staged store), then one audit entry each.
    staged_words = restore.steps.get(name="check the staged store").output
    assert "10 identities will change:" in staged_words and "- user before-user-3 comes back" in staged_words
    assert "- user before-user-5: scope a-b-c goes" in staged_words and "- user after-user-7 goes" in staged_words
    entries = {e.identifier: e for e in AuditEntry.objects.all()}
    assert sorted(entries) == sorted(
        ["before-user-3", "before-user-5", "before-user-6"] + [f"after-user-{i}" for i in range(1, 8)]
    )
    assert {e.actor for e in entries.values()} == {"alice"} and {e.actor_kind for e in entries.values()} == {"staff"}
    assert entries["before-user-3"].action == "add" and entries["after-user-2"].action == "remove"
    assert entries["before-user-5"].action == "set-scopes" and "a-b-c" in entries["before-user-5"].before["scopes"]
    assert (
        entries["before-user-6"].action == "rotate-key" and entries["before-user-6"].after["key"] == "as in the backup"
    )
    assert all(backup.file_name in e.note and f"run #{restore.pk}" in e.note for e in entries.values())
    assert "rotated" not in str([(e.before, e.after) for e in entries.values()])  # never a key hash
    # The outage was the stop, the renames and the start; the load, the checks and the safety dump ran outside it.
    assert restore.state["outage_started"] and restore.state["outage_ended"]
    assert not target.staging_dir().exists() and not target.snapshot_dir().exists()

    run_page = alice_client.get(reverse("admin:operations_operationrun_change", args=[restore.pk]))
    html = run_page.content.decode()
    assert "succeeded" in html and f"of <span id=\"step-n\">{restore.steps.count()}</span>" in html
