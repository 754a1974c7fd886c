"""Recovery from the remote alone (docs/offsite-encryption.md, "The portal host is gone").

A fresh install knows nothing of the backups; the remote knows everything it needs, in its manifests. ``survey``
reads every ``<dump>.manifest.json`` under ``<remote>/<target>/`` and checks the stored files against them (size
and the remote's hash, or a read-back where the remote offers none); ``adopt`` adds what checks out to the catalog as
off-site-only backups (a row and its good copy, no local dump: a restore fetches it) and refuses the rest, saying
why. ``put_back_portal_db`` first replaces the portal's own database with the newest copy the remote holds (staff,
audit log, parked key hashes, the catalog as it was), which ``adopt`` then completes with the newer backups.

The management command ``adopt_remote`` and the admin page "Adopt the off-site remote" call these functions.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connections, transaction

from operations.models import Backup, BackupCopy, OperationRun, RunStatus
from operations.runs.recovery import recover_run

from . import manifest, offsite
from .portal_db import engine_kind, pg_connection_args, pg_environment


@dataclass
class Found:
    """One manifest on the remote and what the survey made of it."""

    name: str
    data: dict[str, Any] = field(default_factory=dict)
    problem: str = ""  # why it cannot be adopted; empty when it can
    checksum: str = ""  # "<hash>:<hex>" the stored file was checked by
    in_catalog: bool = False

    @property
    def file(self) -> str:
        return str(self.data.get("file") or self.name.removesuffix(manifest.SUFFIX))

    def words(self) -> str:
        if self.problem:
            return f"{self.file}: REFUSED: {self.problem}"
        d = self.data
        state = "in the catalog" if self.in_catalog else "can be adopted"
        sealed = f"encrypted to {', '.join(d['recipients'])}" if d.get("recipients") else "in clear"
        return (
            f"{self.file}: {state}; made {d['created']}, Neo4j {d.get('neo4j_version')}, {d.get('node_count')} nodes, "
            f"{d.get('relationship_count')} relationships, {d['plain']['size']} bytes, {sealed}; stored bytes checked "
            f"({self.checksum}); portal database copy: {'yes' if d.get('portal_db') else 'no'}"
        )


def listing(remote: str, target: str) -> dict[str, dict]:
    """Name -> rclone's entry (Size, Hashes) of every file in ``<remote>/<target>/``; {} when there is none."""
    try:
        entries = json.loads(offsite.rclone("lsjson", "--files-only", "--hash", offsite.location(remote, target)))
    except offsite.CopyError as exc:
        if "not found" in str(exc).lower():
            return {}
        raise
    return {e["Name"]: e for e in entries if "Name" in e}


def check_stored(remote: str, target: str, entry: dict | None, block: dict) -> str:
    """``<hash>:<hex>`` the stored file was checked by against its manifest ``block``; CopyError when it is missing
    or differs."""
    where = offsite.location(remote, f"{target}/{block['file']}")
    if entry is None:
        raise offsite.CopyError(f"{where} is missing")
    if entry.get("Size") not in (None, -1) and entry["Size"] != block["size"]:
        raise offsite.CopyError(f"{where} has {entry['Size']} bytes, its manifest says {block['size']}")
    offered = {k.lower(): str(v).lower() for k, v in (entry.get("Hashes") or {}).items() if v}
    for name in offsite.HASHES:
        if name in offered and block.get(name):
            if offered[name] != block[name]:
                raise offsite.CopyError(f"{where} has {name} {offered[name]}, its manifest says {block[name]}")
            return f"{name}:{offered[name]}"
    out = offsite.rclone("hashsum", "sha256", "--download", where)
    read_back = out.split()[0].lower() if out.split() else ""
    if read_back != block["sha256"]:
        raise offsite.CopyError(
            f"{where} read back has SHA-256 {read_back or '?'}, its manifest says {block['sha256']}"
        )
    return f"sha256:{read_back}"


def survey(remote: str, target: str) -> list[Found]:
    """Every manifest under ``<remote>/<target>/``, newest first, each checked against the bytes it describes."""
    files = listing(remote, target)
    found = []
    for name in sorted(files):
        if not manifest.MANIFEST_NAME.fullmatch(name):
            continue
        item = Found(name)
        found.append(item)
        try:
            raw = offsite.rclone("cat", offsite.location(remote, f"{target}/{name}")).encode()
            item.data = manifest.parse(raw, name)
            if item.data.get("target") != target:
                raise manifest.BadManifest(f"it describes a backup of target {item.data.get('target')!r}")
            item.checksum = check_stored(
                remote, target, files.get(item.data["stored"].get("file", "")), item.data["stored"]
            )
            if item.data.get("portal_db"):
                check_stored(remote, target, files.get(item.data["portal_db"]["file"]), item.data["portal_db"])
        except (offsite.CopyError, manifest.BadManifest, KeyError, TypeError) as exc:
            item.problem = str(exc)
            continue
        item.in_catalog = Backup.objects.filter(target=target, file_name=item.file).exists()
    found.sort(key=lambda f: (f.data.get("created", ""), f.name), reverse=True)
    return found


def adopt(remote: str, target: str, found: list[Found]) -> list[str]:
    """Add each good manifest's backup to the catalog as off-site only (or, for one already there from a portal
    database copy, record its copy on this remote); what was done, one line each."""
    done = []
    for item in found:
        if item.problem:
            done.append(item.words())
            continue
        d = item.data
        with transaction.atomic():
            backup = Backup.objects.filter(target=target, file_name=item.file).first()
            if backup is not None and backup.sha256 != d["plain"]["sha256"]:
                done.append(f"{item.file}: REFUSED: the catalog's SHA-256 {backup.sha256} is not the manifest's")
                continue
            if backup is None:
                backup = Backup.objects.create(**backup_fields(d, remote))
                what = "adopted as an off-site-only backup"
            else:
                what = "already in the catalog; its off-site copy recorded"
            copy, _ = BackupCopy.objects.update_or_create(backup=backup, remote=remote, defaults=copy_fields(item))
        done.append(f"{item.file}: {what} ({copy.location}, {item.checksum})")
    return done


def backup_fields(d: dict, remote: str) -> dict[str, Any]:
    verification = d.get("verification") or {}
    db = d.get("portal_db") or {}
    procedures = {c.value for c in Backup.Procedure}
    return {
        "file_name": d["file"],
        "target": d["target"],
        "database": d.get("database") or "neo4j",
        "size": d["plain"]["size"],
        "sha256": d["plain"]["sha256"],
        "neo4j_version": str(d.get("neo4j_version") or "")[:40],
        "node_count": d.get("node_count"),
        "relationship_count": d.get("relationship_count"),
        "purpose": Backup.Purpose.ADOPTED,
        "procedure": d.get("procedure") if d.get("procedure") in procedures else Backup.Procedure.UNKNOWN,
        "created_at": manifest.created(d),
        "requested_by_label": f"adopted from {remote}"[:150],
        "portal_db_file": db.get("plain_file", ""),
        "portal_db_size": db.get("plain_size"),
        "portal_db_sha256": db.get("plain_sha256", ""),
        "verification_detail": f"from the manifest: {verification.get('result', 'never')} "
        f"{verification.get('at') or ''} {verification.get('detail') or ''}".strip(),
    }


def copy_fields(item: Found) -> dict[str, Any]:
    d, target = item.data, item.data["target"]
    db = d.get("portal_db") or {}
    return {
        "path": f"{target}/{d['stored']['file']}",
        "state": BackupCopy.State.OK,
        "checksum": item.checksum,
        "detail": f"adopted from its manifest {item.name}: the stored bytes match it ({item.checksum})",
        "size": d["stored"]["size"],
        "copied_at": manifest.created(d),
        "checked_at": None,
        "recipients": "\n".join(d.get("recipients") or []),
        "stored_sha256": d["stored"]["sha256"],
        "portal_db_path": f"{target}/{db['file']}" if db else "",
        "portal_db_sha256": db.get("sha256", ""),
        "error": "",
        "next_attempt_at": None,
    }


def put_back_portal_db(remote: str, target: str, found: list[Found], work_dir: Path) -> str:
    """Replace the portal's database with the newest portal database copy among the good manifests (fetched and
    decrypted into ``work_dir``, checked against its manifest). Every record the portal keeps becomes the copy's;
    run ``migrate`` afterwards. CopyError when there is none or it cannot be fetched (nothing replaced then)."""
    item = next((f for f in found if not f.problem and f.data.get("portal_db")), None)
    if item is None:
        raise offsite.CopyError(f"{offsite.location(remote, target)} holds no portal database copy that checks out")
    db_block = item.data["portal_db"]
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(mode=0o700, parents=True)
    dest = work_dir / db_block["plain_file"]
    try:  # the decrypted copy holds staff password hashes: never left lying, whatever happens
        offsite.fetch_file(
            offsite.location(remote, f"{target}/{db_block['file']}"),
            dest,
            db_block["plain_sha256"],
            item.data.get("recipients") or [],
        )
        replace_portal_db(dest)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return f"the portal's database is now the copy taken with {item.file} ({item.data['created']})"


def replace_portal_db(copy: Path) -> None:
    """Replace the portal's database with ``copy`` (SQLite: SQLite's backup API into the live file; PostgreSQL:
    pg_restore over it). CopyError when pg_restore fails."""
    db = connections["default"].settings_dict
    connections.close_all()
    if engine_kind(db) == "sqlite":
        with sqlite3.connect(copy) as source, sqlite3.connect(db["NAME"]) as live:
            source.backup(live)  # the whole database, page by page, under the destination's write lock
        return
    pg_dump = shutil.which(settings.PG_DUMP) or settings.PG_DUMP
    # A conninfo string without dbname: libpq takes the database from PGDATABASE (pg_environment), never parsing
    # the name itself as a connection string.
    command = [
        str(Path(pg_dump).with_name("pg_restore")),
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-password",
        "--dbname=application_name=alchemiscale-portal-adopt",
        *pg_connection_args(db),
        str(copy),
    ]
    proc = subprocess.run(command, capture_output=True, text=True, env=pg_environment(db), timeout=3600)
    if proc.returncode != 0:
        raise offsite.CopyError(f"pg_restore exited with {proc.returncode}: {proc.stderr.strip()[-500:]}")


def recover(remote: str, target: str, work_dir: Path, *, portal_db: bool = False, dry_run: bool = False) -> list[str]:
    """The whole recovery from the remote, as the command and the admin page run it: survey; with ``portal_db`` put
    back the newest portal database copy first (then ``migrate``); then adopt what checks out. Lines to show."""
    found = survey(remote, target)
    if not found:
        return [f"{offsite.location(remote, target)} holds no backup manifest"]
    if dry_run:
        return [f.words() for f in found]
    lines = []
    if portal_db:
        lines.append(put_back_portal_db(remote, target, found, work_dir))
        call_command("migrate", interactive=False, verbosity=0)
        lines.append("manage.py migrate brought it up to date")
        # The copy was taken while its backup ran: that run (and any other then active) is in it as running, its
        # worker long gone. Ended as a worker's start would end it, so it holds the target no more.
        for run in OperationRun.objects.filter(status=RunStatus.RUNNING):
            recover_run(run, "adopt-remote", "the portal's database was put back from a copy taken while this ran")
            lines.append(f"{run.kind} #{run.pk}, running in the copy, marked interrupted")
        for item in found:  # the put-back catalog decides what is already there
            item.in_catalog = not item.problem and Backup.objects.filter(target=target, file_name=item.file).exists()
    return lines + adopt(remote, target, found)
