"""Writers cannot erase history (docs/offsite-encryption.md): encrypted copies to a real S3-protocol server on
loopback (moto's server, tests/s3_server.py) with object lock on, through rclone's S3 backend; retention never asks
to delete inside the lock window; append-only leaves deletion to the bucket's lifecycle. No Neo4j needed.
"""

import datetime as dt

import pyrage
import pytest
from django.utils import timezone

from operations.backups import offsite, retention
from operations.models import BackupCopy, RetentionPolicy
from tests.backup_support import IDENTIFIER, KEY_HASH, dump_with_secrets
from tests.s3_server import REMOTE

pytestmark = pytest.mark.django_db(transaction=True)

# A deletion the remote refuses, as S3 words it for a locked object version; everything else is the real rclone.
# (moto's server, like S3, answers a plain delete in a versioned bucket with a delete marker rather than a refusal.)
REFUSED_DELETE = """#!/bin/sh
if [ "$1" = deletefile ]; then
    echo "Failed to deletefile: AccessDenied: Access Denied because object protected by object lock" >&2
    exit 1
fi
exec rclone "$@"
"""


@pytest.fixture
def locked(s3, settings):
    """The copies go to the object-lock bucket of the S3 server, encrypted."""
    settings.OFFSITE_REMOTE, settings.OFFSITE_LOCK_DAYS, settings.OFFSITE_CONNECT_TIMEOUT = f"{REMOTE}:locked", 1, 3
    settings.BACKUP_RECIPIENTS = [str(pyrage.x25519.Identity.generate().to_public())]
    return s3


def test_copies_to_a_locked_bucket_are_never_erased_by_the_portal(tmp_path, settings, locked):
    backup_dir = tmp_path / "backups"
    backup_dir.mkdir()
    older = dump_with_secrets(backup_dir, "neo4j-20000101-000000.dump")
    newer = dump_with_secrets(backup_dir, "neo4j-20000102-000000.dump")
    copies = [offsite.copy_backup(b, backup_dir) for b in (older, newer)]
    assert [c.state for c in copies] == [BackupCopy.State.OK] * 2
    assert copies[0].checksum.startswith("md5:")  # S3's ETag of a one-part upload
    client = locked.client()
    keys = sorted(v["Key"] for v in client.list_object_versions(Bucket="locked")["Versions"])
    # Written straight to their names (a locked temporary name could never be removed), encrypted, with manifests.
    assert keys == sorted(
        f"local/{name}"
        for b in (older, newer)
        for name in (f"{b.file_name}.age", f"{b.portal_db_file}.age", f"{b.file_name}.manifest.json")
    )
    for key in keys:
        body = client.get_object(Bucket="locked", Key=key)["Body"].read()
        assert IDENTIFIER not in body and KEY_HASH not in body
        head = client.head_object(Bucket="locked", Key=key)
        assert head["ObjectLockMode"] == "COMPLIANCE" and head["ObjectLockRetainUntilDate"] > timezone.now()

    # Retention keeps only the newest copy, but never asks to delete one inside the lock window.
    RetentionPolicy.objects.update_or_create(pk=1, defaults=dict(offsite_keep_last=1, offsite_keep_days=0))
    verdicts = {v.copy.pk: v for v in retention.decide_copies_for("local")}
    assert (
        verdicts[copies[0].pk].keep
        and "inside the remote's object lock window (1 days" in verdicts[copies[0].pk].reasons[0]
    )
    later = timezone.now() + dt.timedelta(days=2)
    assert not retention.decide_copies_for("local", now=later)[1].keep  # past the window it may go

    # Past the window, a refusal by the remote is expected: the copy and its row stay, nothing fails.
    settings.OFFSITE_LOCK_DAYS = 0
    refuser = tmp_path / "rclone-refusing"
    refuser.write_text(REFUSED_DELETE)
    refuser.chmod(0o755)
    settings.OFFSITE_RCLONE = str(refuser)
    said = offsite.delete(copies[0])
    assert "refused the deletion (object lock, as expected): kept" in said
    assert BackupCopy.objects.filter(pk=copies[0].pk).exists()

    # Append-only: the portal deletes nothing; the row goes and the line names what the lifecycle should expire.
    settings.OFFSITE_RCLONE, settings.OFFSITE_PRUNE_REMOTE = "rclone", "none"
    said = offsite.delete(copies[0])
    assert said.startswith("append-only (PORTAL_OFFSITE_PRUNE_REMOTE=none): left for the bucket's lifecycle")
    assert f"{REMOTE}:locked/local/{older.file_name}.age" in said
    assert not BackupCopy.objects.filter(pk=copies[0].pk).exists()
    assert sorted(v["Key"] for v in client.list_object_versions(Bucket="locked")["Versions"]) == keys
