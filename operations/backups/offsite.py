"""Off-site copies of the dumps with rclone (docs/offsite-copies.md).

Each catalogued dump can be copied to ``PORTAL_OFFSITE_REMOTE`` (an rclone remote and directory, e.g.
``portal-offsite:backups``) as ``<remote>/<target>/<file name>``. A copy counts only once its checksum is checked:
the remote's own hash of the file (SHA-256, SHA-1 or MD5, whichever the remote offers; an SFTP remote offers MD5 and
SHA-1 by running ``md5sum``/``sha1sum`` over SSH) must equal the local file's, whose SHA-256 was first checked
against the catalog; a remote that offers no hash has the copy read back and its SHA-256 compared with the catalog.
Every copy is a :class:`~operations.models.BackupCopy` row: copied, or failed with the reason and when it is tried
again (beat asks for a copy run then: ``services.retry_failed_copies``).

Only here is rclone called; the procedures (``operations/backups/procedures/copy.py``, the backup's and the restore's steps,
the prune's off-site steps) call these functions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import secrets
import subprocess
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from operations.models import Backup, BackupCopy, OperationRun
from operations.models.backups import FILE_NAME, PORTAL_DB_FILE_NAME

from . import encryption, manifest
from .portal_db import OWNER_ONLY_FILE

#: what an upload's temporary name adds to the dump's name on the remote (then a random part)
PARTIAL = ".partial-"
PARTIAL_NAME = re.compile(
    f"(?:{FILE_NAME.pattern}|{PORTAL_DB_FILE_NAME.pattern})(?:\\.age)?" + re.escape(PARTIAL) + "[0-9a-f]{12}"
)
#: hashes rclone may report, strongest first, and how to compute each here
HASHES = ("sha256", "sha1", "md5")
CHUNK = 4 << 20


class CopyError(Exception):
    """rclone failed or the copy's checksum differs; the message says which and why."""


def configured() -> bool:
    return bool(settings.OFFSITE_REMOTE.strip())


def remote() -> str:
    return settings.OFFSITE_REMOTE.strip()


def location(remote_: str, path: str) -> str:
    """``remote:dir`` + ``target/file`` -> ``remote:dir/target/file`` (``remote:`` alone: its root)."""
    return f"{remote_}{path}" if remote_.endswith(":") else f"{remote_.rstrip('/')}/{path}"


def path_for(backup: Backup) -> str:
    return f"{backup.target}/{backup.file_name}"


def rclone_command(*args: str) -> list[str]:
    """An rclone command line with the portal's limits: one try, and a connect timeout so an unreachable remote
    fails in seconds rather than minutes (the run holds its target meanwhile)."""
    t = max(1, settings.OFFSITE_CONNECT_TIMEOUT)
    return [
        settings.OFFSITE_RCLONE,
        *args,
        f"--contimeout={t}s",
        f"--timeout={max(60, 4 * t)}s",
        "--retries=1",
        "--low-level-retries=2",
    ]


def rclone(*args: str, timeout: float | None = None) -> str:
    """Run rclone; its output, or CopyError with the last lines it wrote."""
    command = rclone_command(*args)
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=os.environ.copy())
    except FileNotFoundError:
        raise CopyError(
            f"rclone is not installed ({settings.OFFSITE_RCLONE!r} not found; Debian's package rclone)"
        ) from None
    except subprocess.TimeoutExpired:
        raise CopyError(f"rclone {args[0]} took longer than {timeout:.0f} s") from None
    if proc.returncode != 0:
        tail = " ".join(line.strip() for line in proc.stderr.strip().splitlines()[-3:])
        raise CopyError(f"rclone {args[0]} exited with {proc.returncode}: {tail or 'no output'}")
    return proc.stdout


def local_hashes(path: Path) -> dict[str, str]:
    """SHA-256, SHA-1 and MD5 of the file, in one read."""
    digests = {name: hashlib.new(name) for name in HASHES}
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            for d in digests.values():
                d.update(chunk)
    return {name: d.hexdigest() for name, d in digests.items()}


def remote_stat(where: str) -> dict:
    """The remote's listing of one file: {"Size": ..., "Hashes": {...}} (the hashes it offers)."""
    try:
        return json.loads(rclone("lsjson", "--hash", "--stat", where))
    except json.JSONDecodeError as exc:
        raise CopyError(f"rclone lsjson answered something that is not JSON: {exc}") from None


def check_copy(where: str, size: int, hashes: dict[str, str], catalog_sha256: str) -> tuple[str, str, int]:
    """(checksum, how it was checked, size) of the copy at ``where``; CopyError when it differs from the file."""
    stat = remote_stat(where)
    if stat.get("Size") not in (None, -1) and stat["Size"] != size:
        raise CopyError(f"the copy {where} has {stat['Size']} bytes, the dump has {size}")
    offered = {k.lower(): v for k, v in (stat.get("Hashes") or {}).items() if v}
    for name in HASHES:
        if name in offered:
            if offered[name].lower() != hashes[name]:
                raise CopyError(f"the copy {where} has {name} {offered[name]}, the dump has {hashes[name]}")
            return (
                f"{name}:{hashes[name]}",
                f"the remote's {name} of the copy equals the dump's (whose SHA-256 equals the catalog's)",
                size,
            )
    # No hash offered (e.g. an SFTP account without a shell): read the copy back and hash it here.
    out = rclone("hashsum", "sha256", "--download", where)
    read_back = out.split()[0].lower() if out.split() else ""
    if read_back != catalog_sha256:
        raise CopyError(f"the copy {where} read back has SHA-256 {read_back or '?'}, the catalog says {catalog_sha256}")
    return (
        f"sha256:{read_back}",
        "the remote offers no hash: the copy was read back and its SHA-256 equals the catalog's",
        size,
    )


def retry_delay(attempts: int) -> dt.timedelta:
    minutes = settings.OFFSITE_RETRY_MINUTES * 2 ** min(max(attempts - 1, 0), 10)
    return dt.timedelta(minutes=min(minutes, 24 * 60))


def copy_backup(backup: Backup, backup_dir: Path, run: OperationRun | None = None) -> BackupCopy:
    """Copy the dump (encrypted when recipients are configured, with the portal database copy beside it) and its
    manifest to the configured remote and check it; the row records the outcome. CopyError when it failed (the row
    says failed, with the reason and when it is tried again)."""
    if not configured():
        raise CopyError("no off-site remote is configured (PORTAL_OFFSITE_REMOTE)")
    copy, _ = BackupCopy.objects.get_or_create(backup=backup, remote=remote(), defaults={"path": path_for(backup)})
    if copy.state == BackupCopy.State.OK and still_there(copy):
        return copy
    now = timezone.now()
    copy.attempts += 1
    copy.last_attempt_at, copy.last_run = now, run
    try:
        send_backup(copy, backup, backup_dir)
    except (CopyError, encryption.KeyProblem, ValueError, OSError) as exc:
        copy.state, copy.error = BackupCopy.State.FAILED, str(exc)
        retry = copy.attempts < settings.OFFSITE_MAX_ATTEMPTS
        copy.next_attempt_at = now + retry_delay(copy.attempts) if retry else None
        copy.save()
        raise CopyError(
            str(exc)
            + (
                f"; tried again at {copy.next_attempt_at:%Y-%m-%d %H:%M} UTC"
                if retry
                else f"; {copy.attempts} attempts made, not tried again until asked"
            )
        ) from None
    copy.state, copy.error, copy.copied_at, copy.next_attempt_at = BackupCopy.State.OK, "", timezone.now(), None
    copy.checked_at = copy.copied_at
    copy.save()
    return copy


def still_there(copy: BackupCopy) -> bool:
    """Asked again: a good copy is checked where it is (size, the remote's hash); sent again only when it is gone or
    differs."""
    try:
        stat = remote_stat(location(copy.remote, copy.path))
    except CopyError:
        return False
    kind, _, value = copy.checksum.partition(":")
    offered = {k.lower(): v.lower() for k, v in (stat.get("Hashes") or {}).items() if v}
    if stat.get("Size") != copy.size or (kind in offered and offered[kind] != value):
        return False
    copy.detail = f"still there ({timezone.now():%Y-%m-%d %H:%M} UTC): {copy.size} bytes" + (
        f", {kind} as when copied" if kind in offered else ""
    )
    copy.save(update_fields=["detail"])
    return True


def send_backup(copy: BackupCopy, backup: Backup, backup_dir: Path) -> None:
    """Send the dump, the portal database copy (only encrypted: it holds staff password hashes and parked key
    hashes) and the manifest; fill the copy's fields. The dump's plain SHA-256 must equal the catalog's."""
    source = backup.path_in(backup_dir)
    if not source.is_file():
        raise CopyError(f"the dump {source} is missing: nothing to copy")
    sealed = encryption.enabled()
    copy.path = path_for(backup) + (encryption.SUFFIX if sealed else "")
    sent = send_file(source, location(copy.remote, copy.path), backup.sha256, "dump")
    copy.checksum, copy.detail, copy.size = sent.checksum, sent.detail, sent.stored_size
    copy.stored_sha256, copy.recipients = sent.stored["sha256"], "\n".join(sent.recipients)
    db_source = backup.portal_db_path_in(backup_dir)
    db_block = None
    copy.portal_db_path = copy.portal_db_sha256 = ""
    if sealed and db_source is not None and db_source.is_file():
        db_path = f"{backup.target}/{db_source.name}{encryption.SUFFIX}"
        db_sent = send_file(db_source, location(copy.remote, db_path), backup.portal_db_sha256, "portal database copy")
        copy.portal_db_path, copy.portal_db_sha256 = db_path, db_sent.stored["sha256"]
        db_block = {"file": db_path.rsplit("/", 1)[-1], "plain_file": db_source.name, **db_sent.manifest_block()}
        copy.detail += f"\nthe portal database copy {db_source.name}: {db_sent.detail}"
    data = manifest.build(
        backup, {"file": copy.path.rsplit("/", 1)[-1], **sent.manifest_block()}, db_block, sent.recipients
    )
    put_bytes(manifest.dumps(data), location(copy.remote, f"{backup.target}/{manifest.name_for(backup.file_name)}"))
    copy.detail += "\nmanifest written beside it"


class Sent:
    """One file sent and checked: its stored hashes and size, how it was checked, whom it is encrypted to."""

    def __init__(self, checked: tuple[str, str, int], plain: tuple[str, int], stored: dict[str, str], recipients):
        self.checksum, self.detail, self.stored_size = checked
        self.plain_sha256, self.plain_size = plain
        self.stored, self.recipients = stored, list(recipients)

    def manifest_block(self) -> dict:
        return {
            "size": self.stored_size,
            **self.stored,
            "plain_sha256": self.plain_sha256,
            "plain_size": self.plain_size,
        }


def send_file(source: Path, where: str, catalog_sha256: str, what: str) -> Sent:
    """Send one file to ``where``: encrypted first (through a scratch file beside it, owner-only, removed after) when
    recipients are configured. Its plain SHA-256 must equal the catalog's, or nothing is sent."""
    if encryption.enabled():
        scratch = source.with_name(f".sealing-{source.name}{encryption.SUFFIX}")
        scratch.unlink(missing_ok=True)
        try:
            sealed = encryption.encrypt_file(source, scratch)
            refuse_damaged(source, what, sealed.plain_sha256, catalog_sha256)
            checked = upload(scratch, where, sealed.stored, sealed.stored["sha256"])
            return Sent(checked, (sealed.plain_sha256, sealed.plain_size), sealed.stored, sealed.recipients)
        finally:
            scratch.unlink(missing_ok=True)
    hashes = local_hashes(source)
    refuse_damaged(source, what, hashes["sha256"], catalog_sha256)
    checked = upload(source, where, hashes, catalog_sha256)
    return Sent(checked, (hashes["sha256"], source.stat().st_size), hashes, [])


def refuse_damaged(source: Path, what: str, actual: str, catalog_sha256: str) -> None:
    if actual != catalog_sha256:
        raise CopyError(f"{source} is damaged (its SHA-256 is {actual}, the catalog says {catalog_sha256}): not copied")


def put_bytes(data: bytes, where: str) -> None:
    """Write a small file (a manifest) to the remote: rclone rcat from standard input, replacing the previous."""
    command = rclone_command("rcat", where)
    try:
        proc = subprocess.run(command, input=data, capture_output=True, timeout=300, env=os.environ.copy())
    except (FileNotFoundError, subprocess.TimeoutExpired) as exc:
        raise CopyError(f"rclone rcat {where} failed: {exc}") from None
    if proc.returncode != 0:
        tail = " ".join(line.strip() for line in proc.stderr.decode(errors="replace").strip().splitlines()[-3:])
        raise CopyError(f"rclone rcat exited with {proc.returncode}: {tail or 'no output'}")


def upload(source: Path, where: str, hashes: dict[str, str], catalog_sha256: str) -> tuple[str, str, int]:
    """Copy ``source`` to ``where`` under a temporary name, check it there, then rename it: a copy killed midway
    (its worker killed, the connection lost) never carries the dump's name. (checksum, how checked, size)."""
    if settings.OFFSITE_LOCK_DAYS > 0:
        # Object lock: a temporary name would be locked too and never removed; an S3 upload is atomic anyway.
        rclone("copyto", str(source), where)
        return check_copy(where, source.stat().st_size, hashes, catalog_sha256)
    partial = f"{where}{PARTIAL}{secrets.token_hex(6)}"
    try:
        rclone("copyto", str(source), partial)
        checked = check_copy(partial, source.stat().st_size, hashes, catalog_sha256)
        rclone("moveto", partial, where)
    except BaseException:
        try:
            rclone("deletefile", partial)
        except CopyError:  # never written, or the remote is away: the next prune removes it (remove_partials)
            pass
        raise
    return checked


def remove_partials(target_name: str) -> list[str]:
    """Remove the temporary uploads (``<dump>.partial-<random>``) of copies that died midway from the configured
    remote's directory of the target; what was removed. A copy run holds the target, so none is being written."""
    if not configured() or settings.OFFSITE_LOCK_DAYS > 0 or prune_remote_is_none():
        return []  # none are written under object lock; append-only: the lifecycle rule's business
    directory = location(remote(), target_name)
    try:
        listed = json.loads(rclone("lsjson", "--files-only", directory))
    except CopyError as exc:
        if "not found" in str(exc).lower():  # nothing was ever copied for this target
            return []
        raise
    except json.JSONDecodeError as exc:
        raise CopyError(f"rclone lsjson answered something that is not JSON: {exc}") from None
    done = []
    for entry in sorted(listed, key=lambda e: e.get("Name", "")):
        name = entry.get("Name", "")
        if PARTIAL_NAME.fullmatch(name):
            rclone("deletefile", location(remote(), f"{target_name}/{name}"))
            done.append(f"removed the partial upload {location(remote(), f'{target_name}/{name}')}")
    return done


def fetch(backup: Backup, dest: Path) -> str:
    """Download the backup's dump from an off-site copy to ``dest`` (through a temporary name beside it, decrypted
    as it streams when the copy is encrypted), checking its SHA-256 against the catalog; what was done, or CopyError
    when no copy could be fetched (naming the key an encrypted copy needs when it is not here)."""
    copies = list(backup.copies.filter(state=BackupCopy.State.OK).order_by("-copied_at", "-pk"))
    if not copies:
        raise CopyError(f"{backup.file_name} has no off-site copy to fetch")
    reasons = []
    for copy in copies:
        where = location(copy.remote, copy.path)
        try:
            return fetch_file(where, dest, backup.sha256, copy.recipient_list)
        except CopyError as exc:
            reasons.append(f"{where}: {exc}")
    raise CopyError("no off-site copy could be fetched: " + "; ".join(reasons))


def fetch_file(where: str, dest: Path, plain_sha256: str, recipients: list[str]) -> str:
    """Download one remote file to ``dest`` (never replacing a file), decrypting it when ``recipients`` says it is
    encrypted; its plain SHA-256 must be ``plain_sha256``. CopyError otherwise, with nothing left behind."""
    part = dest.with_name(f".fetching-{dest.name}")
    try:
        part.unlink(missing_ok=True)
        if recipients:
            actual = encryption.decrypt_from_command(rclone_command("cat", where), part, recipients)
        else:
            rclone("copyto", where, str(part))
            os.chmod(part, OWNER_ONLY_FILE)  # rclone creates it by the umask; a dump is readable by its owner only
            actual = local_hashes(part)["sha256"]
        if actual != plain_sha256:
            raise CopyError(f"the fetched copy has SHA-256 {actual}, the catalog says {plain_sha256}")
        with open(part, "rb") as fh:
            os.fsync(fh.fileno())
        os.link(part, dest)  # never replaces a file
        return f"fetched {where} to {dest}{' (decrypted)' if recipients else ''}; SHA-256 {actual} as in the catalog"
    except (encryption.KeyProblem, OSError) as exc:
        raise CopyError(str(exc)) from None
    finally:
        part.unlink(missing_ok=True)


#: how remotes word a deletion that object lock (WORM, a retention period, a legal hold) refused
LOCK_REFUSAL = re.compile(r"AccessDenied|object ?lock|WORM|retention|legal ?hold|locked", re.IGNORECASE)


def prune_remote(copy: BackupCopy) -> str | None:
    """The remote retention deletes the copy through: PORTAL_OFFSITE_PRUNE_REMOTE, the copy's own remote when that
    is empty, or None when it is "none" (append-only: the bucket's lifecycle rule expires copies)."""
    chosen = settings.OFFSITE_PRUNE_REMOTE.strip()
    if chosen.lower() == "none":
        return None
    return chosen or copy.remote


def delete(copy: BackupCopy) -> str:
    """Remove the copy (its portal database copy and manifest too) from its remote and its row; a file already gone
    from the remote counts as removed. Append-only: nothing is deleted, the row goes and the line says what the
    bucket's lifecycle should expire. A deletion refused by object lock is expected: the row stays, said so."""
    remote_ = prune_remote(copy)
    if remote_ is None:
        left = ", ".join(location(copy.remote, p) for p in remote_files(copy))
        copy.delete()
        return f"append-only (PORTAL_OFFSITE_PRUNE_REMOTE=none): left for the bucket's lifecycle rule to expire: {left}"
    done = []
    for path in remote_files(copy):
        where = location(remote_, path)
        try:
            rclone("deletefile", where)
            done.append(f"removed {where}")
        except CopyError as exc:
            if LOCK_REFUSAL.search(str(exc)):
                return f"{where}: the remote refused the deletion (object lock, as expected): kept, tried again later"
            if "not found" not in str(exc).lower() and "doesn't exist" not in str(exc).lower():
                raise
            done.append(f"{where} was already gone")
    copy.delete()
    return "; ".join(done)


def prune_remote_is_none() -> bool:
    return settings.OFFSITE_PRUNE_REMOTE.strip().lower() == "none"


def remote_files(copy: BackupCopy) -> list[str]:
    """The paths under the remote that belong to this copy: the dump, the portal database copy, the manifest."""
    paths = [copy.path, copy.portal_db_path, f"{copy.backup.target}/{manifest.name_for(copy.backup.file_name)}"]
    return [p for p in paths if p]


def due_retries(now: dt.datetime) -> dict[str, list[BackupCopy]]:
    """The failed copies to the configured remote whose retry time has come, by target (services.py requests the
    runs)."""
    if not configured():
        return {}
    due = BackupCopy.objects.filter(
        state=BackupCopy.State.FAILED, next_attempt_at__lte=now, remote=remote()
    ).select_related("backup")
    by_target: dict[str, list[BackupCopy]] = {}
    for copy in due:
        by_target.setdefault(copy.backup.target, []).append(copy)
    return by_target


def status(target: str | None = None) -> tuple[bool, str]:
    """(ok, words) for the status page: red while any copy to the configured remote is failed."""
    if not configured():
        return True, "off (PORTAL_OFFSITE_REMOTE is empty)"
    target = target or settings.OPERATIONS_TARGET
    copies = BackupCopy.objects.filter(backup__target=target, remote=remote()).select_related("backup")
    bad = copies.filter(state__in=[BackupCopy.State.FAILED, BackupCopy.State.DAMAGED])
    failed = list(bad.order_by("-backup__created_at")[:1])
    if failed:
        count = bad.count()
        return False, f"{count} failed or damaged; the newest: {failed[0].backup.file_name}: {describe(failed[0])}"
    newest = copies.filter(state=BackupCopy.State.OK).order_by("-copied_at").first()
    if newest is None:
        return True, f"to {remote()}; nothing copied yet"
    return True, f"to {remote()}; last copied {newest.backup.file_name} at {newest.copied_at:%Y-%m-%d %H:%M} UTC"


def summary(backup: Backup) -> str:
    """One line about the backup's off-site copies, for lists and the command line."""
    copies = list(backup.copies.all())
    if not copies:
        return "none"
    return "; ".join(describe(c) for c in copies)


def describe(copy: BackupCopy) -> str:
    if copy.state == BackupCopy.State.OK:
        sealed = (
            f"; encrypted with age to {', '.join(copy.recipient_list)} (stored SHA-256 {copy.stored_sha256})"
            if copy.recipients
            else ""
        )
        return f"{copy.location} copied {copy.copied_at:%Y-%m-%d %H:%M} UTC, {copy.checksum}{sealed}"
    if copy.state == BackupCopy.State.DAMAGED:
        return f"{copy.location} DAMAGED: {copy.error}; copy it again"
    if copy.state == BackupCopy.State.FAILED:
        again = (
            f"; tried again at {copy.next_attempt_at:%Y-%m-%d %H:%M} UTC"
            if copy.next_attempt_at
            else "; no more retries: copy it again on request"
        )
        return f"{copy.location} FAILED after {copy.attempts} attempt(s): {copy.error}{again}"
    return f"{copy.location} {copy.get_state_display()}"
