"""The manifest beside each dump on the remote (docs/offsite-encryption.md, "What the remote holds").

``<target>/<dump name>.manifest.json`` describes the copy without the portal's database: what the file is, when it
was made, its plain and stored checksums and sizes, the Neo4j version, the store migrations applied by then, the
counts, how it was taken, the last verification, the portal's schema, and the age recipients it is encrypted to. It
holds no secret (public keys only) and stays readable, so a fresh install can list and adopt the remote
(``adopt.py``) and an operator can read it by hand with ``rclone cat``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from django.db.migrations.recorder import MigrationRecorder
from django.utils.dateparse import parse_datetime

from operations.models import AppliedMigration, Backup
from operations.models.backups import FILE_NAME, PORTAL_DB_FILE_NAME

FORMAT = "alchemiscale-portal-backup/1"
SUFFIX = ".manifest.json"
MANIFEST_NAME = re.compile(FILE_NAME.pattern + re.escape(SUFFIX))
HEX64 = re.compile(r"[0-9a-f]{64}")


class BadManifest(ValueError):
    """A manifest that is not one the portal writes; the message says what is wrong."""


def name_for(dump_name: str) -> str:
    return dump_name + SUFFIX


def portal_version() -> str:
    """The portal's database schema: the newest applied migration of the records app (what a portal database copy
    needs to be understood; ``manage.py migrate`` brings an older copy up to date)."""
    newest = (
        MigrationRecorder.Migration.objects.filter(app="operations").order_by("-applied", "-id").values_list("name")
    )
    row = newest.first()
    return f"operations {row[0]}" if row else "operations (no migration applied)"


def schema_marks(backup: Backup) -> list[dict[str, str]]:
    """Store migrations applied to the target before the backup was taken (the portal's record of them)."""
    applied = AppliedMigration.objects.filter(target=backup.target, outcome="applied", at__lte=backup.created_at)
    return [{"name": m.name, "at": m.at.isoformat()} for m in applied.order_by("at")]


def build(backup: Backup, stored: dict[str, Any], portal_db: dict[str, Any] | None, recipients: list[str]) -> dict:
    """The manifest of one copy. ``stored``: {"file", "size", "sha256", "sha1", "md5"} of the file as on the remote;
    ``portal_db``: the same for the portal database copy plus its plain "plain_sha256" and "plain_size", or None."""
    return {
        "format": FORMAT,
        "file": backup.file_name,
        "target": backup.target,
        "database": backup.database,
        "created": backup.created_at.isoformat(),
        "purpose": backup.purpose,
        "procedure": backup.procedure,
        "plain": {"size": backup.size, "sha256": backup.sha256},
        "stored": stored,
        "encrypted": bool(recipients),
        "recipients": recipients,
        "neo4j_version": backup.neo4j_version,
        "schema_marks": schema_marks(backup),
        "node_count": backup.node_count,
        "relationship_count": backup.relationship_count,
        "verification": {
            "result": backup.verification,
            "at": backup.verified_at.isoformat() if backup.verified_at else None,
            "detail": backup.verification_detail,
        },
        "portal_db": portal_db,
        "portal_version": portal_version(),
    }


def dumps(manifest: dict) -> bytes:
    return (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()


def parse(raw: bytes, name: str) -> dict:
    """A manifest read from the remote, checked field by field; BadManifest saying what is wrong."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadManifest(f"{name} is not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BadManifest(f"{name} is not a portal backup manifest (format {FORMAT})")
    if not FILE_NAME.fullmatch(str(data.get("file", ""))) or name_for(data["file"]) != name.rsplit("/", 1)[-1]:
        raise BadManifest(f"{name} names the file {data.get('file')!r}, not the dump it sits beside")
    for part in ("plain", "stored"):
        block = data.get(part)
        if not isinstance(block, dict) or not HEX64.fullmatch(str(block.get("sha256", ""))):
            raise BadManifest(f"{name}: {part}.sha256 is missing or not a SHA-256")
        if not isinstance(block.get("size"), int) or block["size"] < 0:
            raise BadManifest(f"{name}: {part}.size is missing or not a size")
    if parse_datetime(str(data.get("created", ""))) is None:
        raise BadManifest(f"{name}: created is not a date and time")
    db = data.get("portal_db")
    if db is not None and (
        not isinstance(db, dict)
        or not PORTAL_DB_FILE_NAME.fullmatch(str(db.get("plain_file", "")))
        or not HEX64.fullmatch(str(db.get("plain_sha256", "")))
        or not HEX64.fullmatch(str(db.get("sha256", "")))
    ):
        raise BadManifest(f"{name}: portal_db is not a portal database copy's description")
    return data


def created(data: dict) -> dt.datetime:
    value = parse_datetime(data["created"])
    assert value is not None  # parse() checked it
    return value
