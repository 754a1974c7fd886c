"""A backup catalog row with no dump behind it, for pages that only need one to exist (restore confirmation,
permissions), and a dump-shaped file with known secrets in it for the off-site copies' tests. Tests that need a
real dump make one through a real backup instead."""

import os
from pathlib import Path

from operations.backups.procedures.dumps import sha256_of
from operations.models import Backup


def catalog_row(**changes) -> Backup:
    fields = dict(
        file_name="neo4j-20260101-000000.dump",
        target="local",
        database="neo4j",
        size=1,
        sha256="0" * 64,
        neo4j_version="5.26.12",
        node_count=0,
        relationship_count=0,
        requested_by_label="cli:x",
    )
    return Backup.objects.create(**{**fields, **changes})


IDENTIFIER = b"drill-user-identifier-7f3a"
KEY_HASH = b"$2b$12$knownhashknownhashknownhashknownhashknownhashknownhashkn"
DB_SECRET = b"parked-real-hash-of-a-disabled-identity-91c2"


def dump_with_secrets(backup_dir: Path, name: str = "neo4j-20000101-000000.dump") -> Backup:
    """A catalogued dump-shaped file holding a known identifier and key hash, and a portal database copy holding a
    known secret, so a test can grep a remote for them."""
    dump = backup_dir / name
    dump.write_bytes(os.urandom(200_000) + IDENTIFIER + KEY_HASH + os.urandom(200_000))
    db = backup_dir / name.replace(".dump", ".portal.sqlite3")
    db.write_bytes(os.urandom(50_000) + DB_SECRET + os.urandom(1000))
    return catalog_row(
        file_name=dump.name,
        size=dump.stat().st_size,
        sha256=sha256_of(dump),
        node_count=50,
        relationship_count=75,
        portal_db_file=db.name,
        portal_db_size=db.stat().st_size,
        portal_db_sha256=sha256_of(db),
    )
