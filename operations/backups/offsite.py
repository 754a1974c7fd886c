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
from operations.models.backups import FILE_NAME

from .portal_db import OWNER_ONLY_FILE

#: what an upload's temporary name adds to the dump's name on the remote (then a random part)
PARTIAL = ".partial-"
PARTIAL_NAME = re.compile(FILE_NAME.pattern + re.escape(PARTIAL) + "[0-9a-f]{12}")
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
    """Copy the dump to the configured remote and check it; the row records the outcome. CopyError when it failed
    (the row says failed, with the reason and when it is tried again)."""
    if not configured():
        raise CopyError("no off-site remote is configured (PORTAL_OFFSITE_REMOTE)")
    copy, _ = BackupCopy.objects.get_or_create(backup=backup, remote=remote(), defaults={"path": path_for(backup)})
    if copy.state == BackupCopy.State.OK:
        # Asked again: a good copy is checked where it is; sent again only when it is gone or differs.
        try:
            stat = remote_stat(location(copy.remote, copy.path))
            kind, _, value = copy.checksum.partition(":")
            offered = {k.lower(): v.lower() for k, v in (stat.get("Hashes") or {}).items() if v}
            if stat.get("Size") == copy.size and (kind not in offered or offered[kind] == value):
                copy.detail = f"still there ({timezone.now():%Y-%m-%d %H:%M} UTC): {copy.size} bytes" + (
                    f", {kind} as when copied" if kind in offered else ""
                )
                copy.save(update_fields=["detail"])
                return copy
        except CopyError:
            pass
    now = timezone.now()
    copy.attempts += 1
    copy.last_attempt_at, copy.last_run = now, run
    try:
        source = backup.path_in(backup_dir)
        if not source.is_file():
            raise CopyError(f"the dump {source} is missing: nothing to copy")
        hashes = local_hashes(source)
        if hashes["sha256"] != backup.sha256:
            raise CopyError(
                f"{source} is damaged (its SHA-256 is {hashes['sha256']}, the catalog says {backup.sha256}): not copied"
            )
        where = location(copy.remote, copy.path)
        copy.checksum, copy.detail, copy.size = upload(source, where, hashes, backup.sha256)
    except (CopyError, ValueError, OSError) as exc:
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
    copy.save()
    return copy


def upload(source: Path, where: str, hashes: dict[str, str], catalog_sha256: str) -> tuple[str, str, int]:
    """Copy ``source`` to ``where`` under a temporary name, check it there, then rename it: a copy killed midway
    (its worker killed, the connection lost) never carries the dump's name. (checksum, how checked, size)."""
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
    if not configured():
        return []
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
    """Download the backup's dump from an off-site copy to ``dest`` (through a temporary name beside it), checking
    its SHA-256 against the catalog; what was done, or CopyError when no copy could be fetched."""
    copies = list(backup.copies.filter(state=BackupCopy.State.OK).order_by("-copied_at", "-pk"))
    if not copies:
        raise CopyError(f"{backup.file_name} has no off-site copy to fetch")
    part = dest.with_name(f".fetching-{dest.name}")
    reasons = []
    for copy in copies:
        where = location(copy.remote, copy.path)
        try:
            part.unlink(missing_ok=True)
            rclone("copyto", where, str(part))
            os.chmod(part, OWNER_ONLY_FILE)  # rclone creates it by the umask; a dump is readable by its owner only
            actual = local_hashes(part)["sha256"]
            if actual != backup.sha256:
                raise CopyError(f"the fetched copy has SHA-256 {actual}, the catalog says {backup.sha256}")
            with open(part, "rb") as fh:
                os.fsync(fh.fileno())
            os.link(part, dest)  # never replaces a file
            part.unlink()
            return f"fetched {where} to {dest}; SHA-256 {actual} as in the catalog"
        except (CopyError, OSError) as exc:
            reasons.append(f"{where}: {exc}")
            part.unlink(missing_ok=True)
    raise CopyError("no off-site copy could be fetched: " + "; ".join(reasons))


def delete(copy: BackupCopy) -> str:
    """Remove the copy from its remote and its row; a copy already gone from the remote counts as removed."""
    where = location(copy.remote, copy.path)
    try:
        rclone("deletefile", where)
        done = f"removed {where}"
    except CopyError as exc:
        if "not found" not in str(exc).lower():
            raise
        done = f"{where} was already gone"
    copy.delete()
    return done


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
    failed = list(copies.filter(state=BackupCopy.State.FAILED).order_by("-backup__created_at")[:1])
    count = copies.filter(state=BackupCopy.State.FAILED).count()
    if failed:
        return False, f"{count} failed; the newest: {failed[0].backup.file_name}: {describe(failed[0])}"
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
        return f"{copy.location} copied {copy.copied_at:%Y-%m-%d %H:%M} UTC, {copy.checksum}"
    if copy.state == BackupCopy.State.FAILED:
        again = (
            f"; tried again at {copy.next_attempt_at:%Y-%m-%d %H:%M} UTC"
            if copy.next_attempt_at
            else "; no more retries: copy it again on request"
        )
        return f"{copy.location} FAILED after {copy.attempts} attempt(s): {copy.error}{again}"
    return f"{copy.location} {copy.get_state_display()}"
