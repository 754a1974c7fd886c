"""Encrypted, self-describing off-site copies (docs/offsite-encryption.md) against the real OpenSSH SFTP server
(tests/sftp_server.py) and the real rclone and age (pyrage). No Neo4j needed: catalog rows over a dump-shaped file
that holds known identifiers and key hashes, and a portal database copy holding a known secret, so the test can grep
the remote for them.
"""

import hashlib
import json
import os
import shutil

import pyrage
import pytest
from django.urls import reverse

from operations.backups import encryption, manifest, offsite, recheck, system_checks
from operations.backups.procedures.dumps import sha256_of
from operations.models import Alert, Backup, BackupCopy
from operations.unattended import alerts
from tests.backup_support import DB_SECRET, IDENTIFIER, KEY_HASH, dump_with_secrets

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def keys(tmp_path, settings):
    team, escrow = pyrage.x25519.Identity.generate(), pyrage.x25519.Identity.generate()
    identity_file = tmp_path / "backup-identity.txt"
    identity_file.write_text(f"# team key\n{team}\n")
    settings.BACKUP_RECIPIENTS = [str(team.to_public()), str(escrow.to_public())]
    settings.BACKUP_IDENTITY_FILE = ""  # the machine that makes copies needs no private key
    return {"team": team, "escrow": escrow, "file": identity_file}


def test_copies_are_encrypted_described_and_need_the_key(tmp_path, settings, keys, sftp):
    backup_dir = tmp_path / "backups"
    backup_dir.mkdir()
    backup = dump_with_secrets(backup_dir)
    copy = offsite.copy_backup(backup, backup_dir)
    assert copy.state == BackupCopy.State.OK, copy.error
    assert copy.path == "local/neo4j-20000101-000000.dump.age"
    assert copy.recipient_list == settings.BACKUP_RECIPIENTS
    assert f"encrypted with age to {', '.join(settings.BACKUP_RECIPIENTS)} (stored SHA-256 " in offsite.summary(backup)
    remote_dir = sftp.root / "backups" / "local"
    stored = remote_dir / "neo4j-20000101-000000.dump.age"
    assert sorted(p.name for p in remote_dir.iterdir()) == [
        "neo4j-20000101-000000.dump.age",
        "neo4j-20000101-000000.dump.manifest.json",
        "neo4j-20000101-000000.portal.sqlite3.age",
    ]
    assert copy.stored_sha256 == sha256_of(stored) != backup.sha256
    assert copy.portal_db_sha256 == sha256_of(remote_dir / "neo4j-20000101-000000.portal.sqlite3.age")
    assert list(backup_dir.iterdir()) == [backup_dir / backup.file_name, backup_dir / backup.portal_db_file]

    # No byte of the dump or the portal database copy is readable on the remote without the key: neither the
    # identifiers and hashes they hold nor any 64-byte run of them (the manifest names the plain SHA-256 only).
    plain = (backup_dir / backup.file_name).read_bytes()
    db_plain = (backup_dir / backup.portal_db_file).read_bytes()
    runs = [plain[i : i + 64] for i in range(0, len(plain), 4096)] + [db_plain[i : i + 64] for i in (0, 50_000)]
    for path in remote_dir.iterdir():
        data = path.read_bytes()
        for known in (IDENTIFIER, KEY_HASH, DB_SECRET, *runs):
            assert known not in data, (path.name, known)
    assert stored.read_bytes().startswith(b"age-encryption.org/v1\n")

    # The manifest says what the file is, without a secret.
    data = json.loads((remote_dir / "neo4j-20000101-000000.dump.manifest.json").read_text())
    assert manifest.parse(json.dumps(data).encode(), "neo4j-20000101-000000.dump.manifest.json") == data
    assert data["plain"] == {"size": backup.size, "sha256": backup.sha256}
    assert data["stored"]["sha256"] == copy.stored_sha256 and data["stored"]["size"] == stored.stat().st_size
    assert data["stored"]["md5"] == hashlib.md5(stored.read_bytes()).hexdigest()
    assert (data["node_count"], data["relationship_count"], data["neo4j_version"]) == (50, 75, "5.26.12")
    assert data["recipients"] == settings.BACKUP_RECIPIENTS and data["encrypted"] is True
    assert data["portal_db"]["plain_sha256"] == backup.portal_db_sha256
    assert data["portal_version"].startswith("operations 0")
    assert "AGE-SECRET-KEY" not in json.dumps(data)

    # A fetch without the private key fails naming the keys the copy needs, and leaves nothing behind.
    fetched_dir = tmp_path / "fetched"
    fetched_dir.mkdir()
    dest = fetched_dir / backup.file_name
    with pytest.raises(offsite.CopyError, match="encrypted with age to " + settings.BACKUP_RECIPIENTS[0]):
        offsite.fetch(backup, dest)
    other = tmp_path / "other-key.txt"
    other.write_text(f"{pyrage.x25519.Identity.generate()}\n")
    settings.BACKUP_IDENTITY_FILE = str(other)
    with pytest.raises(offsite.CopyError, match="holds the private key.s. of age1.* only"):
        offsite.fetch(backup, dest)
    assert list(fetched_dir.iterdir()) == []

    # With the key (the escrow's alone is enough) it is fetched, decrypted as it streams, and checked.
    escrow_file = tmp_path / "escrow.txt"
    escrow_file.write_text(f"{keys['escrow']}\n")
    settings.BACKUP_IDENTITY_FILE = str(escrow_file)
    assert "(decrypted); SHA-256 " + backup.sha256 in offsite.fetch(backup, dest)
    assert dest.read_bytes() == plain and list(fetched_dir.iterdir()) == [dest]

    # Rotation: new recipients affect new copies only; the old copy still needs the old keys.
    new_key = pyrage.x25519.Identity.generate()
    settings.BACKUP_RECIPIENTS = [str(new_key.to_public())]
    again = offsite.copy_backup(backup, backup_dir)
    assert again.pk == copy.pk and "still there" in again.detail and again.recipient_list == copy.recipient_list

    # The re-check: as copied, then a byte flipped on the remote is found (the remote's SHA-1 differs), the copy is
    # damaged and no longer fetched, and the alerts sweep opens an alert; a new copy resolves it.
    settings.OFFSITE_RECHECK_DAYS = 1
    assert recheck.recheck_due() == f"{copy.location}: as copied"
    data = bytearray(stored.read_bytes())
    data[len(data) // 3] ^= 0x10
    stored.write_bytes(bytes(data))
    assert f"{copy.location}: DAMAGED: " in recheck.recheck_due()
    copy.refresh_from_db()
    assert copy.state == BackupCopy.State.DAMAGED and offsite.status()[0] is False
    alerts.sweep()
    assert Alert.objects.get(key=f"offsite:{copy.pk}", resolved_at__isnull=True).kind == "offsite"
    with pytest.raises(offsite.CopyError, match="has no off-site copy to fetch"):
        offsite.fetch(backup, fetched_dir / "again.dump")
    assert offsite.copy_backup(backup, backup_dir).state == BackupCopy.State.OK
    alerts.sweep()
    assert Alert.objects.get(key=f"offsite:{copy.pk}").resolved_at is not None


@pytest.mark.unit
def test_encryption_streams_and_names_what_it_needs(tmp_path, settings):
    """Pure age round trip through the hashing wrappers (no remote)."""
    key = pyrage.x25519.Identity.generate()
    settings.BACKUP_RECIPIENTS = [str(key.to_public())]
    source = tmp_path / "plain"
    source.write_bytes(os.urandom(3 << 20))
    sealed = encryption.encrypt_file(source, tmp_path / "sealed")
    assert sealed.plain_sha256 == sha256_of(source) and sealed.plain_size == 3 << 20
    assert sealed.stored["sha256"] == sha256_of(tmp_path / "sealed") and sealed.stored_size > 3 << 20
    with pytest.raises(FileExistsError):
        encryption.encrypt_file(source, tmp_path / "sealed")  # never replaces a file
    settings.BACKUP_IDENTITY_FILE = str(tmp_path / "missing")
    with pytest.raises(encryption.KeyProblem, match=f"encrypted with age to {key.to_public()}.* cannot be read"):
        encryption.load_identities([str(key.to_public())])
    (tmp_path / "id").write_text(str(key))
    settings.BACKUP_IDENTITY_FILE = str(tmp_path / "id")
    with open(tmp_path / "sealed", "rb") as fin, open(tmp_path / "back", "wb") as fout:
        stored, plain = encryption.decrypt_stream(fin, fout, [str(key.to_public())])
    assert (stored, plain) == (sealed.stored["sha256"], sealed.plain_sha256)
    settings.BACKUP_RECIPIENTS = ["age1notakey"]
    with pytest.raises(encryption.KeyProblem, match="'age1notakey' is not an age public key"):
        encryption.encrypt_file(source, tmp_path / "sealed2")


def test_the_admin_page_adopts_the_remote(tmp_path, settings, keys, sftp, alice_client, client, bob):
    """The page lists what the remote holds from its manifests and adds what matches to the catalog as off-site
    only; a manifest whose stored bytes differ is refused. Staff without the restore right cannot open it."""
    backup_dir = tmp_path / "backups"
    backup_dir.mkdir()
    backup = dump_with_secrets(backup_dir)
    assert offsite.copy_backup(backup, backup_dir).state == BackupCopy.State.OK
    remote_dir = sftp.root / "backups" / "local"
    # A second manifest whose copy was changed after it was written.
    other = "neo4j-20000101-000001.dump"
    shutil.copyfile(remote_dir / f"{backup.file_name}.age", remote_dir / f"{other}.age")
    with open(remote_dir / f"{other}.age", "r+b") as fh:
        fh.seek(500)
        fh.write(b"\x00changed")
    text = (remote_dir / f"{backup.file_name}.manifest.json").read_text()
    (remote_dir / f"{other}.manifest.json").write_text(text.replace(backup.file_name, other))
    Backup.objects.all().delete()
    settings.OPERATIONS_TARGET = "local"

    url = reverse("admin:operations_backup_adopt")
    page = alice_client.get(url).content.decode()
    assert f"{backup.file_name}: can be adopted" in page and f"{other}: REFUSED: " in page
    assert 'id="adopt-with-portal-db"' in page  # a superuser may put the portal database back too
    response = alice_client.post(url, {"action": "adopt"})
    assert response.status_code == 302
    adopted = Backup.objects.get()
    assert (adopted.file_name, adopted.purpose, adopted.sha256) == (backup.file_name, "adopted", backup.sha256)
    copy = adopted.copies.get()
    assert copy.state == BackupCopy.State.OK and copy.recipient_list == settings.BACKUP_RECIPIENTS
    client.force_login(bob)
    assert client.get(url).status_code == 403
    assert client.post(url, {"action": "adopt"}).status_code == 403


@pytest.mark.unit
def test_the_system_checks_say_when_copies_would_fail_or_go_in_clear(settings):
    settings.OFFSITE_REMOTE, settings.BACKUP_RECIPIENTS = "offsite:backups", ["age1notakey"]
    (error,) = system_checks.offsite_encryption(None)
    assert error.id == "operations.E010" and "'age1notakey' is not an age public key" in error.msg
    settings.BACKUP_RECIPIENTS = []
    (warning,) = system_checks.offsite_encryption(None)
    assert warning.id == "operations.W010" and "in clear" in warning.msg
    settings.BACKUP_RECIPIENTS = [str(pyrage.x25519.Identity.generate().to_public())]
    assert system_checks.offsite_encryption(None) == []
