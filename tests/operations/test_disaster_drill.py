"""The portal host is gone (docs/offsite-encryption.md): a disaster drill against the real local Neo4j, the real
OpenSSH SFTP server (tests/sftp_server.py), rclone and age.

One scenario, one backup: it is copied off-site encrypted (the worker holds no private key) to SFTP and to an S3
bucket under object lock (moto's server, tests/s3_server.py); then the portal's database, its backups directory and
its run state are deleted and the store is changed. A fresh install lists the remotes from their manifests, refuses a
manifest whose bytes do not match, adopts the backup as off-site only, puts the portal's database back from its copy
on S3, restores the newest backup, and Neo4j holds exactly the graph of that backup; the audit log and the parked
keys are back. Without the key the restore fails naming it. The monthly off-site drill
verifies the copy in a scratch store, and a byte flipped on the remote is found by the re-check and alerted.
"""

import io
import json
import os
import shutil

import pyrage
import pytest
from django.core.management import CommandError, call_command

from identities.models import AuditEntry, ParkedKey
from operations.backups import offsite, recheck, services
from operations.models import Alert, Backup, BackupCopy, OperationRun
from operations.runs import engine
from operations.unattended import alerts, drills
from tests.s3_server import REMOTE as S3_REMOTE

from .conftest import graph_snapshot, seed_graph

pytestmark = pytest.mark.django_db(transaction=True)


def _run(run: OperationRun) -> OperationRun:
    return engine.execute(run.pk)


@pytest.mark.parametrize("target", ["local"], indirect=True)
def test_the_portal_host_is_gone(target, sftp, s3, settings, tmp_path):
    settings.OPERATIONS_QUEUE = f"nobody-listens-{os.getpid()}"  # runs are carried out here, not by a worker
    settings.OPERATIONS_TARGET = "local"
    key = pyrage.x25519.Identity.generate()
    settings.BACKUP_RECIPIENTS, settings.BACKUP_IDENTITY_FILE = [str(key.to_public())], ""
    identity_file = tmp_path / "backup-identity.txt"
    identity_file.write_text(f"# the team's key, kept off the portal host\n{key}\n")

    seed_graph(target, "drill", n=8)
    AuditEntry.objects.create(
        actor_kind="staff",
        actor="alice",
        action="disable",
        identity_kind="user",
        identifier="drill-user-1",
        note="left the project",
    )
    ParkedKey.objects.create(
        identity_kind="user", identifier="drill-user-1", hashed_key="$2b$12$" + "r" * 53, lock_hash="$2b$12$" + "l" * 53
    )
    run = _run(services.request_backup(None, label="test", send=False, target=target))
    assert run.status == "succeeded", run.error
    backup = Backup.objects.get(made_by_run=run)
    assert run.steps.get(name="copy off-site").status == "ok"
    at_backup = graph_snapshot(target)
    remote_dir = sftp.root / "backups" / "local"
    stored = remote_dir / f"{backup.file_name}.age"
    assert stored.is_file() and (remote_dir / f"{backup.portal_db_file}.age").is_file()
    # The same backup to the S3 bucket under object lock.
    sftp_remote, s3_remote = settings.OFFSITE_REMOTE, f"{S3_REMOTE}:locked"
    settings.OFFSITE_REMOTE, settings.OFFSITE_LOCK_DAYS = s3_remote, 1
    assert offsite.copy_backup(backup, target.backup_dir).state == BackupCopy.State.OK
    bucket = s3.client()
    stored_objects = [
        bucket.get_object(Bucket="locked", Key=v["Key"])["Body"].read()
        for v in bucket.list_object_versions(Bucket="locked")["Versions"]
    ]
    assert len(stored_objects) == 3
    for data in [p.read_bytes() for p in remote_dir.iterdir()] + stored_objects:  # no identifier or hash in clear
        assert b"drill-user-1" not in data and b"$2b$12$" not in data and b"left the project" not in data

    # A manifest whose bytes do not match is refused: a stray copy of another dump under a manifest that lies.
    liar = "neo4j-19990101-000000.dump"
    shutil.copyfile(stored, remote_dir / f"{liar}.age")
    text = (remote_dir / f"{backup.file_name}.manifest.json").read_text()
    (remote_dir / f"{liar}.manifest.json").write_text(
        text.replace(backup.file_name, liar).replace(f'"size": {stored.stat().st_size}', '"size": 12')
    )

    # The disaster: the portal's database, its backups directory and its run state are gone; the store moved on.
    call_command("flush", interactive=False, verbosity=0)
    for path in target.backup_dir.iterdir():
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    target.query("MATCH (n) WHERE n._scoped_key STARTS WITH 'drill-net-1' DETACH DELETE n")
    target.query("CREATE (:AlchemicalNetwork {_scoped_key: 'written-after-the-backup'})")
    assert not Backup.objects.exists() and not AuditEntry.objects.exists() and not OperationRun.objects.exists()

    # A fresh install lists the remote from its manifests alone.
    out = io.StringIO()
    call_command("adopt-remote", "--dry-run", "--remote", sftp_remote, stdout=out)
    listed = out.getvalue()
    assert f"{backup.file_name}: can be adopted" in listed and f"encrypted to {key.to_public()}" in listed
    assert f"{liar}: REFUSED: " in listed and "has 12 bytes" not in listed and "its manifest says 12" in listed

    # The portal database copy cannot be put back without the key; the error names it, and nothing changed.
    with pytest.raises(CommandError, match=f"encrypted with age to {key.to_public()}"):
        call_command("adopt_remote", "--portal-db", stdout=io.StringIO())
    assert not Backup.objects.exists()

    # Adopted without the portal database: an off-site-only backup whose restore needs the key, and says which.
    call_command("adopt_remote", stdout=io.StringIO())
    adopted = Backup.objects.get()
    assert (adopted.file_name, adopted.purpose, adopted.sha256) == (backup.file_name, "adopted", backup.sha256)
    assert (adopted.node_count, adopted.relationship_count) == (backup.node_count, backup.relationship_count)
    assert adopted.copies.get().state == BackupCopy.State.OK
    failed = _run(services.request_restore(adopted, "neo4j", None, label="test", send=False))
    assert failed.status == "failed" and f"encrypted with age to {key.to_public()}" in failed.error
    assert graph_snapshot(target) != at_backup and target.is_up()  # the failed restore changed nothing

    # With the key: the portal's database first (staff, audit log, parked keys, the catalog), then the backups.
    settings.BACKUP_IDENTITY_FILE = str(identity_file)
    out = io.StringIO()
    call_command("adopt_remote", "--portal-db", stdout=out)
    assert f"the portal's database is now the copy taken with {backup.file_name}" in out.getvalue()
    assert f"{backup.file_name}: already in the catalog; its off-site copy recorded" in out.getvalue()
    assert AuditEntry.objects.get().note == "left the project"
    assert ParkedKey.objects.get().hashed_key == "$2b$12$" + "r" * 53
    restored_row = Backup.objects.get(file_name=backup.file_name)
    assert restored_row.purpose == "requested" and restored_row.copies.get().state == BackupCopy.State.OK
    out = io.StringIO()
    call_command("adopt_remote", "--remote", sftp_remote, stdout=out)  # the SFTP copy is recorded too
    assert f"{backup.file_name}: already in the catalog; its off-site copy recorded" in out.getvalue()
    assert restored_row.copies.filter(state=BackupCopy.State.OK).count() == 2

    restore = _run(services.request_restore(restored_row, "neo4j", None, label="test", send=False))
    assert restore.status == "succeeded", restore.error
    assert "(decrypted)" in restore.steps.get(name="fetch the off-site copy if the dump is gone or damaged").output
    assert graph_snapshot(target) == at_backup
    assert restore.steps.get(name="safety backup: copy off-site").status == "ok"

    # The monthly off-site drill fetches the newest off-site copy into a scratch store and verifies it there.
    settings.RESTORE_DRILL_DAYS = 0
    said = drills.drill_if_due()
    assert "off-site: requested drill #" in said, said
    drill = _run(OperationRun.objects.get(kind="verify", status="pending"))
    assert drill.status == "succeeded", drill.error
    assert drill.params.get("from_offsite") is True
    # Its verdict reaches the manifests on the remote, for the next install that adopts them.
    drilled = Backup.objects.get(pk=drill.params["backup_ids"][0])
    manifest_file = next(remote_dir.glob(f"{drilled.file_name}.manifest.json"), None)
    on_s3 = s3.client().get_object(Bucket="locked", Key=f"local/{drilled.file_name}.manifest.json")["Body"].read()
    assert json.loads(on_s3)["verification"]["result"] == "ok"
    if manifest_file is not None:
        assert json.loads(manifest_file.read_text())["verification"]["result"] == "ok"

    # A byte flipped on the remote: the re-check finds it, the copy is damaged, and the alerts sweep says so.
    settings.OFFSITE_REMOTE, settings.OFFSITE_LOCK_DAYS = sftp_remote, 0
    copy = BackupCopy.objects.get(remote=sftp_remote, backup__file_name=backup.file_name)
    on_remote = sftp.root / "backups" / copy.path
    data = bytearray(on_remote.read_bytes())
    data[len(data) // 2] ^= 1
    on_remote.write_bytes(bytes(data))
    settings.OFFSITE_RECHECK_DAYS = 1  # every copy in one round
    lines = recheck.recheck_due()
    assert f"{copy.location}: DAMAGED: " in lines and "sha1" in lines
    copy.refresh_from_db()
    assert copy.state == BackupCopy.State.DAMAGED
    alerts.sweep()
    alert = Alert.objects.get(key=f"offsite:{copy.pk}", resolved_at__isnull=True)
    assert alert.kind == "offsite" and backup.file_name in alert.subject
    # The dump put right by hand, a byte flipped in the portal database copy beside it: found too.
    data[len(data) // 2] ^= 1
    on_remote.write_bytes(bytes(data))
    db_on_remote = sftp.root / "backups" / copy.portal_db_path
    db_data = bytearray(db_on_remote.read_bytes())
    db_data[len(db_data) // 2] ^= 1
    db_on_remote.write_bytes(bytes(db_data))
    lines = recheck.recheck_due()
    assert f"{copy.location}: DAMAGED: " in lines and "(the portal database copy)" in lines, lines
