"""Off-site copies with rclone to a real SFTP server on loopback (Debian's OpenSSH sshd with its own configuration
and throwaway keys: tests/sftp_server.py), on real dumps of the real local Neo4j.

One scenario, so that one backup and one restore serve every case: with the server stopped (its port closed) the
backup stays good and its copy is marked failed; beat's retry after the server is back copies it, and the copy on the
SFTP server's disk has the catalog's SHA-256; a restore whose local dump was deleted fetches it from the copy and the
data is back; the restore's safety backup is copied on request; a backup whose local dump is pruned keeps its row for
its copy, and the off-site retention policy then removes that copy (and the row, with neither dump nor copy left).
The runs are carried out in this process (as ``--here`` does).
"""

import datetime as dt
import io
import os
import stat

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from operations.backups import offsite, retention, services
from operations.backups.procedures.dumps import sha256_of
from operations.models import Backup, BackupCopy, OperationRun, RetentionPolicy
from operations.runs import contract, engine
from operations.runs import requests as run_requests
from tests.sftp_server import SftpServer

from .conftest import seed_graph

pytestmark = pytest.mark.django_db(transaction=True)


def _backup(target) -> tuple[OperationRun, Backup]:
    run = engine.execute(services.request_backup(None, label="test", send=False, target=target).pk)
    assert run.status == "succeeded", run.error
    return run, Backup.objects.get(made_by_run=run)


def _step(run: OperationRun, name: str):
    return run.steps.get(name=name)


@pytest.mark.parametrize("target", ["local"], indirect=True)
def test_copies_are_checked_retried_fetched_for_a_restore_and_pruned(target, sftp, settings, alice_client, bob, client):
    settings.OPERATIONS_QUEUE = f"nobody-listens-{os.getpid()}"  # runs are carried out here, not by a worker
    seed_graph(target, "offsite", n=10)
    remote_dir = sftp.root / "backups" / "local"

    # The server is down (its port closed): the backup stands, its copy is marked failed with a retry time.
    sftp.stop()
    run, first = _backup(target)
    assert _step(run, "copy off-site").status == "failed" and run.error == ""
    assert sha256_of(target.backup_dir / first.file_name) == first.sha256
    copy = first.copies.get()
    assert copy.state == "failed" and copy.attempts == 1 and copy.next_attempt_at > timezone.now()
    assert "rclone copyto exited with" in copy.error and "connection refused" in copy.error.lower()
    listing = alice_client.get(reverse("admin:operations_backup_changelist"), {"offsite": "failed"}).content
    assert first.file_name.encode() in listing and b"offsite-failed" in listing
    assert offsite.status() == (False, f"1 failed or damaged; the newest: {first.file_name}: {offsite.describe(copy)}")
    assert first.file_name.encode() not in (
        alice_client.get(reverse("admin:operations_backup_changelist"), {"offsite": "copied"}).content
    )

    # Back up; when the retry falls due, beat's chore asks for a copy run, which copies it and checks the checksum.
    sftp.start()
    assert services.retry_failed_copies() == []  # not yet due
    BackupCopy.objects.filter(pk=copy.pk).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    (retry,) = services.retry_failed_copies()
    assert services.retry_failed_copies() == []  # asked once: the run is pending, and the copy's next retry moved on
    assert (retry.kind, retry.params, retry.requested_by_label) == ("copy", {"backup_ids": [first.pk]}, "offsite-retry")
    retry = engine.execute(retry.pk)
    assert retry.status == "succeeded", retry.error
    copy.refresh_from_db()
    assert copy.state == "ok" and copy.attempts == 2 and copy.error == "" and copy.last_run == retry
    on_server = remote_dir / first.file_name
    assert sha256_of(on_server) == first.sha256
    # OpenSSH offers SHA-1 and MD5 (md5sum/sha1sum over SSH), no SHA-256: the strongest offered is compared.
    assert copy.checksum == "sha1:" + offsite.local_hashes(target.backup_dir / first.file_name)["sha1"]
    assert "the remote's sha1 of the copy equals the dump's" in copy.detail
    status = alice_client.get(reverse("system-status")).content.decode()
    assert 'class="schedule-check green" data-component="Off-site copies"' in status

    # Seen on the page, in the list and in `manage.py operations`.
    page = alice_client.get(reverse("admin:operations_backup_change", args=[first.pk])).content.decode()
    assert 'class="offsite-copies"' in page and copy.location in page and 'id="copy-backup"' in page
    listing = alice_client.get(reverse("admin:operations_backup_changelist"), {"offsite": "copied"}).content
    assert first.file_name.encode() in listing and b"offsite-ok" in listing
    out = io.StringIO()
    call_command("operations", "--backups", stdout=out)
    assert f"off-site: {copy.location} copied" in out.getvalue()
    # Named again, a good copy is checked where it is, not sent again.
    call_command("copy-backup", first.file_name, "--here", stdout=out)
    copy.refresh_from_db()
    assert copy.attempts == 2 and copy.detail.startswith("still there") and "sha1 as when copied" in copy.detail
    assert f"{first.file_name}: off-site {copy.location} copied" in out.getvalue()

    # The local dump is damaged (it used to block the restore although a good copy existed): the restore sets it
    # aside, fetches the copy, and the data is back. (A dump that is gone takes the same path without the rename.)
    target.query("CREATE (:AlchemicalNetwork {_scoped_key: 'offsite-extra'})")
    with open(target.backup_dir / first.file_name, "r+b") as fh:
        fh.seek(100)
        fh.write(b"\0damaged\0")
    restore = engine.execute(services.request_restore(first, "neo4j", None, label="test", send=False).pk)
    assert restore.status == "succeeded", restore.error
    fetched = _step(restore, "fetch the off-site copy if the dump is gone or damaged")
    assert fetched.status == "ok" and "SHA-256 " + first.sha256 + " as in the catalog" in fetched.output
    assert len(list(target.backup_dir.glob(first.file_name + ".damaged-*"))) == 1
    assert sha256_of(target.backup_dir / first.file_name) == first.sha256
    keys = target.query(
        "MATCH (n:AlchemicalNetwork) WHERE n._scoped_key STARTS WITH 'offsite' RETURN n._scoped_key AS k"
    )
    assert sorted(k for (k,) in keys) == sorted(f"offsite-net-{i}" for i in range(1, 11))
    assert target.counts() == (first.node_count, first.relationship_count)

    # The restore's safety backup is copied like the others, by its own step; `copy-backup --all` finds none left.
    safety = Backup.objects.get(purpose="safety")
    assert _step(restore, "safety backup: copy off-site").status == "ok"
    assert safety.copies.get().state == "ok" and sha256_of(remote_dir / safety.file_name) == safety.sha256
    out = io.StringIO()
    call_command("copy-backup", "--all", "--here", stdout=out)
    assert "every backup here has a good copy on the remote already" in out.getvalue()

    # Retention, locally the newest only: the first backup's dump goes, its row stays for its copy (off-site only).
    policy = dict(keep_last=1, keep_daily=0, keep_weekly=0, keep_monthly=0, offsite_keep_last=2, offsite_keep_days=0)
    RetentionPolicy.objects.update_or_create(pk=1, defaults=policy)
    # A copy whose worker died midway left its temporary upload behind: the prune's off-site step removes it.
    leftover = remote_dir / f"{first.file_name}.partial-0123456789ab"
    leftover.write_bytes(b"half a dump")
    prune = engine.execute(services.request_prune(None, label="test", send=False).pk)
    assert prune.status == "succeeded", prune.error
    assert (
        not leftover.exists()
        and f"removed the partial upload {offsite.location(sftp.remote, 'local/' + leftover.name)}"
        in (_step(prune, "off-site: remove copies").output)
    )
    assert "its catalog row stays for its off-site copy" in _step(prune, "remove files and catalog rows").output
    assert Backup.objects.filter(pk=first.pk).exists() and not (target.backup_dir / first.file_name).exists()
    assert on_server.is_file()
    verdicts = {v.backup.pk: v for v in retention.decide_for(target.name, target.backup_dir)}
    assert verdicts[first.pk].keep and "off-site only" in verdicts[first.pk].reasons[0]

    # Off-site, the newest copy only: the first backup's copy goes, and with neither dump nor copy, its row.
    RetentionPolicy.objects.filter(pk=1).update(offsite_keep_last=1)
    page = alice_client.get(reverse("admin:operations_retentionpolicy_changelist"), follow=True).content.decode()
    assert f'<tr class="offsite-remove"><td>REMOVE</td><td>off-site copy {copy.location}</td>' in page
    assert 'name="offsite_keep_last"' in page
    prune = engine.execute(services.request_prune(None, label="test", send=False).pk)
    assert prune.status == "succeeded", prune.error
    assert f"REMOVE off-site copy {copy.location}" in _step(prune, "off-site: decide which copies go").output
    assert not Backup.objects.filter(pk=first.pk).exists() and not on_server.exists()
    assert (remote_dir / safety.file_name).is_file() and safety.copies.get().state == "ok"

    # The button on a backup's page asks for a copy run (no worker takes it here); staff without the right cannot.
    response = alice_client.post(reverse("admin:operations_backup_copy", args=[safety.pk]))
    run = OperationRun.objects.get(kind="copy", status="pending")
    assert response.url == reverse("admin:operations_operationrun_change", args=[run.pk])
    assert run.params == {"backup_ids": [safety.pk]} and run.requested_by_label == "alice"
    run_requests.cancel(run.pk, "test")
    client.force_login(bob)
    assert client.post(reverse("admin:operations_backup_copy", args=[safety.pk])).status_code == 403


def test_sftp_only_account_copies_read_back_and_damage_is_caught(tmp_path, settings, monkeypatch):
    """``ForceCommand internal-sftp``: rclone cannot run md5sum/sha1sum, the remote offers no hash, and the copy is
    read back and its SHA-256 compared with the catalog. A copy changed on the remote is not fetched, a dump changed
    here is not sent, a restore with neither dump nor copy is refused. No Neo4j needed: catalog rows over a file of
    random bytes."""
    server = SftpServer(tmp_path / "sftp", sftp_only=True).start()
    try:
        for name, value in server.rclone_env().items():
            monkeypatch.setenv(name, value)
        (tmp_path / "rclone.conf").write_text("")
        monkeypatch.setenv("RCLONE_CONFIG", str(tmp_path / "rclone.conf"))
        settings.OFFSITE_REMOTE, settings.OFFSITE_MAX_ATTEMPTS = server.remote, 2
        backup_dir = tmp_path / "backups"
        backup_dir.mkdir()
        dump = backup_dir / "neo4j-20000101-000000.dump"
        dump.write_bytes(os.urandom(300_000))
        backup = Backup.objects.create(
            file_name=dump.name,
            target="local",
            database="neo4j",
            size=dump.stat().st_size,
            sha256=sha256_of(dump),
            neo4j_version="5.26.12",
            requested_by_label="test",
        )
        copy = offsite.copy_backup(backup, backup_dir)
        assert copy.state == "ok" and copy.checksum == f"sha256:{backup.sha256}"
        assert "the remote offers no hash: the copy was read back" in copy.detail
        assert sha256_of(server.root / "backups" / "local" / dump.name) == backup.sha256

        # Asked again, a good copy is checked where it is rather than sent again.
        again = offsite.copy_backup(backup, backup_dir)
        assert again.pk == copy.pk and again.attempts == 1 and "still there" in again.detail

        # A copy changed on the remote is never given the dump's name: fetching it checks the catalog's SHA-256.
        on_server = server.root / "backups" / "local" / dump.name
        good = on_server.read_bytes()
        on_server.write_bytes(good[:1000] + bytes([good[1000] ^ 1]) + good[1001:])
        fetched = tmp_path / "fetched" / dump.name
        fetched.parent.mkdir()
        with pytest.raises(
            offsite.CopyError, match=f"the fetched copy has SHA-256 .*, the catalog says {backup.sha256}"
        ):
            offsite.fetch(backup, fetched)
        assert list(fetched.parent.iterdir()) == []
        on_server.write_bytes(good)
        assert "SHA-256 " + backup.sha256 + " as in the catalog" in offsite.fetch(backup, fetched)
        assert sha256_of(fetched) == backup.sha256
        assert stat.S_IMODE(fetched.stat().st_mode) == 0o600  # owner-only, like every dump the portal writes

        # A restore of a backup whose dump is gone and that has no copy is refused before anything is recorded.
        gone = Backup.objects.create(
            **{f: getattr(backup, f) for f in ("target", "database", "size", "sha256", "neo4j_version")},
            file_name="neo4j-20000101-000009.dump",
            requested_by_label="test",
        )
        with pytest.raises(contract.OperationFailed, match="is missing, and it has no off-site copy to fetch"):
            services.request_restore(gone, "neo4j", None, label="test", send=False)
        assert not OperationRun.objects.exists()

        # A dump damaged after it was catalogued is refused before anything is sent; after the last attempt it is
        # left for staff (no retry time).
        data = dump.read_bytes()
        dump.write_bytes(bytes([data[0] ^ 1]) + data[1:])
        Backup.objects.filter(pk=backup.pk).update(file_name="neo4j-20000101-000001.dump")
        dump.rename(backup_dir / "neo4j-20000101-000001.dump")
        backup.refresh_from_db()
        BackupCopy.objects.all().delete()
        for attempt in (1, 2):
            with pytest.raises(offsite.CopyError, match="is damaged .* not copied"):
                offsite.copy_backup(backup, backup_dir)
            failed = backup.copies.get()
            assert failed.state == "failed" and failed.attempts == attempt
            assert (failed.next_attempt_at is None) == (attempt == 2)
        assert not (server.root / "backups" / "local" / backup.file_name).exists()
    finally:
        server.stop()


# Uploads (copyto with a local source: no "remote:" in it) run slowly and are killed after three seconds, and the
# clean-up after them fails, as when the connection is lost midway; everything else is the real rclone.
KILLED_UPLOAD = """#!/bin/sh
if [ "$1" = copyto ] && [ "${2#*:}" = "$2" ]; then
    rclone "$@" --bwlimit=32k &
    pid=$!
    sleep 3
    kill -9 $pid
    exit 137
fi
if [ "$1" = deletefile ]; then
    echo "connection lost" >&2
    exit 1
fi
exec rclone "$@"
"""


def test_a_copy_killed_midway_never_carries_the_dump_name(tmp_path, settings, monkeypatch):
    """A copy whose rclone dies midway leaves a partial file on the remote under a temporary name, never the
    dump's; the next copy goes through, and the off-site pruning removes the leftover partial. No Neo4j needed."""
    server = SftpServer(tmp_path / "sftp").start()
    try:
        for name, value in server.rclone_env().items():
            monkeypatch.setenv(name, value)
        (tmp_path / "rclone.conf").write_text("")
        monkeypatch.setenv("RCLONE_CONFIG", str(tmp_path / "rclone.conf"))
        killer = tmp_path / "rclone-killed-midway"
        killer.write_text(KILLED_UPLOAD)
        killer.chmod(0o755)
        settings.OFFSITE_REMOTE, settings.OFFSITE_RCLONE = server.remote, str(killer)
        backup_dir = tmp_path / "backups"
        backup_dir.mkdir()
        dump = backup_dir / "neo4j-20000101-000000.dump"
        dump.write_bytes(os.urandom(400_000))
        backup = Backup.objects.create(
            file_name=dump.name,
            target="local",
            database="neo4j",
            size=dump.stat().st_size,
            sha256=sha256_of(dump),
            neo4j_version="5.26.12",
            requested_by_label="test",
        )
        remote_dir = server.root / "backups" / "local"

        with pytest.raises(offsite.CopyError, match="rclone copyto exited with 137"):
            offsite.copy_backup(backup, backup_dir)
        assert not (remote_dir / dump.name).exists()
        (partial,) = remote_dir.iterdir()
        assert partial.name.startswith(f"{dump.name}.partial-") and 0 < partial.stat().st_size < backup.size
        assert backup.copies.get().state == "failed"

        # The next attempt goes through and renames its own upload; the dead one's partial is still there.
        settings.OFFSITE_RCLONE = "rclone"
        assert offsite.copy_backup(backup, backup_dir).state == "ok"
        assert sha256_of(remote_dir / dump.name) == backup.sha256
        manifest = f"{dump.name}.manifest.json"
        assert sorted(p.name for p in remote_dir.iterdir()) == sorted([dump.name, manifest, partial.name])

        # The off-site pruning removes partials it finds, and nothing else.
        assert offsite.remove_partials("local") == [
            f"removed the partial upload {offsite.location(server.remote, 'local/' + partial.name)}"
        ]
        assert sorted(p.name for p in remote_dir.iterdir()) == [dump.name, manifest]
        assert offsite.remove_partials("local") == []
    finally:
        server.stop()
