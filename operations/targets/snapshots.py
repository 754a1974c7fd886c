"""Atomic snapshots of the data directory of a *running* Neo4j (docs/snapshot-backups.md).

A snapshot taken in one atomic step of the whole data directory (store files and transaction logs together) is what
the disk would hold after a power cut: a Neo4j started on it recovers it from its transaction logs, and then holds
exactly the transactions committed before the snapshot. The online-snapshot backup
(``operations/backups/procedures/backup.py``) takes one into the snapshot side store, so the live server is never stopped.

Two ways to take one, decided from the target's data directory (the portal's view of it) and the settings:

- ``btrfs``: the data directory is a btrfs subvolume (on btrfs, inode 256 is the root of a subvolume):
  ``btrfs subvolume snapshot <data> <side store>/data``, removed with ``btrfs subvolume delete``;
- ``commands``: ``PORTAL_SNAPSHOT_CREATE_COMMAND`` and ``PORTAL_SNAPSHOT_REMOVE_COMMAND`` (for ZFS clones, LVM
  snapshots, ...), with ``{source}`` (the data directory) and ``{snapshot}`` (where the snapshot's files must appear,
  writable) replaced in each argument.

``PORTAL_ONLINE_SNAPSHOTS=off`` turns both off (every backup then takes the short-outage path). The side store
records which way its snapshot was made (``<root>/snapshot-method``), so that a recovery after a dead worker removes
it the same way.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path

from django.conf import settings

from .common import TargetError

#: the file in a side store's root naming how its ``data/`` was made (absent: copied, a plain directory)
METHOD_FILE = "snapshot-method"
#: the inode number of a btrfs subvolume's root directory (BTRFS_FIRST_FREE_OBJECTID)
BTRFS_SUBVOLUME_INODE = 256
COMMAND_TIMEOUT = 600


@dataclasses.dataclass(frozen=True)
class SnapshotMethod:
    kind: str  # "btrfs" or "commands"
    why: str  # why the backup takes no outage, for the preview


def _text(command: list[str]) -> str:
    return " ".join(shlex.quote(c) for c in command)


def filesystem_type(path: Path) -> str:
    """The type of the file system holding ``path`` (``stat -f``: btrfs, ext2/ext3, xfs, zfs, ...); '' if unknown."""
    try:
        proc = subprocess.run(["stat", "-f", "-c", "%T", str(path)], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout.strip() if proc.returncode == 0 else ""


def is_btrfs_subvolume(path: Path) -> bool:
    try:
        if os.stat(path).st_ino != BTRFS_SUBVOLUME_INODE:
            return False
    except OSError:
        return False
    return filesystem_type(path) == "btrfs"


def method_for(data_dir: Path) -> tuple[SnapshotMethod | None, str]:
    """How a snapshot of the running store in ``data_dir`` can be taken (None: it cannot), and the reason in words."""
    if settings.ONLINE_SNAPSHOTS == "off":
        return None, "online snapshots are turned off (PORTAL_ONLINE_SNAPSHOTS=off)"
    create, remove = settings.SNAPSHOT_CREATE_COMMAND, settings.SNAPSHOT_REMOVE_COMMAND
    if create or remove:
        if not (create and remove):
            return None, (
                "only one of PORTAL_SNAPSHOT_CREATE_COMMAND and PORTAL_SNAPSHOT_REMOVE_COMMAND is set (both are "
                "needed), so no online snapshot"
            )
        return SnapshotMethod(
            "commands", f"PORTAL_SNAPSHOT_CREATE_COMMAND ({_text(create)}) snapshots {data_dir}: no outage"
        ), ""
    if is_btrfs_subvolume(data_dir):
        if shutil.which("btrfs") is None:
            return (
                None,
                f"data directory {data_dir} is a btrfs subvolume, but the btrfs command (btrfs-progs) is missing",
            )
        return SnapshotMethod("btrfs", f"data directory {data_dir} is a btrfs subvolume: no outage"), ""
    kind = filesystem_type(data_dir) or "unknown"
    return None, (
        f"data directory {data_dir} is not a btrfs subvolume (file system: {kind}) and no snapshot commands are set "
        f"(PORTAL_SNAPSHOT_CREATE_COMMAND)"
    )


def _placeholders(command: list[str], source: Path, snapshot: Path) -> list[str]:
    return [part.replace("{source}", str(source)).replace("{snapshot}", str(snapshot)) for part in command]


def _run(command: list[str], what: str) -> str:
    try:
        proc = subprocess.run(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=COMMAND_TIMEOUT,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TargetError(f"{what}: {_text(command)} could not be run: {exc}") from None
    if proc.returncode != 0:
        raise TargetError(f"{what}: {_text(command)} exited with {proc.returncode}: {proc.stdout.strip()[-1000:]}")
    return proc.stdout.strip()


def create_command(method: SnapshotMethod, source: Path, dest: Path) -> list[str]:
    """The command that snapshots ``source`` (the data directory) to ``dest`` (shown in previews)."""
    if method.kind == "btrfs":
        return ["btrfs", "subvolume", "snapshot", str(source), str(dest)]
    return _placeholders(settings.SNAPSHOT_CREATE_COMMAND, source, dest)


def create(method: SnapshotMethod, source: Path, root: Path, keep: list[Path]) -> str:
    """Snapshot ``source`` into ``<root>/data`` in one atomic step; then remove from the snapshot everything but
    ``keep`` (paths relative to the data directory: the database's store and transaction logs). What was done."""
    dest = root / "data"
    if dest.exists():
        raise TargetError(f"{dest} already exists: an earlier snapshot was not removed")
    root.mkdir(parents=True, exist_ok=True)
    (root / METHOD_FILE).write_text(method.kind + "\n")
    if method.kind == "commands":
        dest.mkdir()  # a mount point for the commands that mount the snapshot there
    command = create_command(method, source, dest)
    began = time.monotonic()
    out = _run(command, "taking the snapshot")
    took = time.monotonic() - began
    if not (dest / keep[0]).is_dir():
        raise TargetError(f"after {_text(command)}, {dest / keep[0]} is missing: the snapshot holds no store")
    pruned = prune(dest, keep)
    return "\n".join([f"$ {_text(command)}", *([out] if out else []), f"snapshot taken in {took:.2f} s", *pruned])


def prune(dest: Path, keep: list[Path]) -> list[str]:
    """Remove from the snapshot ``dest`` all but ``keep`` (and the directories holding them): the system database
    (its users and passwords), other databases and side stores are not part of the backup, and a counting server
    must start with a system database of its own."""
    wanted = {Path(k) for k in keep}
    parents = {p for k in wanted for p in k.parents if str(p) != "."}
    removed = []
    for current, dirs, files in os.walk(dest):
        here = Path(current).relative_to(dest)
        for name in [*dirs, *files]:
            rel = here / name
            if rel in wanted:
                continue
            if rel in parents:
                continue
            path = dest / rel
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(str(rel))
        dirs[:] = [d for d in dirs if (here / d) in parents]
    return [f"removed from the snapshot (not part of the backup): {', '.join(sorted(removed))}"] if removed else []


def remove(root: Path, source: Path) -> list[str]:
    """Remove the snapshot in ``<root>/data`` the way it was made (a subvolume is deleted, a configured snapshot
    handed to the remove command); what was done. Nothing to do for a plain directory: the caller removes it."""
    dest = root / "data"
    marker = root / METHOD_FILE
    kind = marker.read_text().strip() if marker.exists() else ""
    done = []
    if is_btrfs_subvolume(dest):
        _run(["btrfs", "subvolume", "delete", str(dest)], "removing the snapshot")
        done.append(f"deleted the btrfs subvolume {dest}")
    elif kind == "commands" and (dest.exists() or os.path.ismount(dest)):
        command = _placeholders(settings.SNAPSHOT_REMOVE_COMMAND, source, dest)
        if not settings.SNAPSHOT_REMOVE_COMMAND:
            raise TargetError(f"{dest} was made by PORTAL_SNAPSHOT_CREATE_COMMAND but no remove command is set")
        _run(command, "removing the snapshot")
        done.append(f"$ {_text(command)}")
        if os.path.ismount(dest):
            raise TargetError(f"{dest} is still mounted after PORTAL_SNAPSHOT_REMOVE_COMMAND; remove it by hand")
    marker.unlink(missing_ok=True)
    return done
