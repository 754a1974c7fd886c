"""A consistent copy of the portal's own database (audit log, runs, catalog), taken with every backup.

The copy goes beside the dump in the backups directory, named after it: ``neo4j-<date>-<time>.dump`` gets
``neo4j-<date>-<time>.portal.sqlite3`` (SQLite) or ``neo4j-<date>-<time>.portal.pgdump`` (PostgreSQL, pg_dump's
custom format). Like a dump, it is written under a temporary name first and hard-linked to its final name only when
complete, never replacing a file. How to put a copy back: docs/portal-database-backup.md.

One function per engine; :func:`copy_portal_database` picks one by the engine of Django's ``default`` database.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shlex
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import connections

from operations.models.backups import PORTAL_DB_FILE_NAME

#: engine -> the suffix its copy gets in place of ``.dump``
SUFFIXES = {"sqlite": ".portal.sqlite3", "postgresql": ".portal.pgdump"}
PG_DUMP_TIMEOUT = 3600
#: modes of everything the portal writes in the backups directory: a dump holds the whole store, a copy of the
#: portal's database its password hashes and audit log (docs/backups.md)
OWNER_ONLY_FILE = 0o600
OWNER_ONLY_DIR = 0o700
# libpq reads these from the environment; DATABASE_URL's query string puts them in OPTIONS.
_LIBPQ_ENV = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "options": "PGOPTIONS",
}


# Tables whose rows could let someone sign in, left empty in every copy (the tables themselves stay, so a copy put
# back is a complete database): sessions (a session id is a login), django-axes' attempts and lockouts (failed
# usernames and addresses; a copy put back would bring old lockouts back), and the TOTP authenticators, whose
# secrets django-otp keeps in clear (after a copy is put back everybody enrols a new authenticator; recovery codes
# stay, stored hashed: docs/security.md), and the passkeys. Order matters for the foreign keys (attempt
# expirations, passkey attestations).
LEFT_OUT_TABLES = (
    "django_session",
    "axes_accessattemptexpiration",
    "axes_accessattempt",
    "axes_accessfailurelog",
    "axes_accesslog",
    "otp_totp_totpdevice",
    # a copy put back must not bring back a passkey removed since (a lost key)
    "django_otp_webauthn_webauthnattestation",
    "django_otp_webauthn_webauthncredential",
)


class CopyFailed(RuntimeError):
    """The copy could not be made; the message says why, for staff."""


@dataclasses.dataclass(frozen=True)
class PortalDbCopy:
    path: Path
    size: int
    sha256: str
    #: what was done, for the step's output
    detail: str


def engine_kind(db: dict[str, Any]) -> str:
    engine = db["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        return "sqlite"
    if engine in ("django.db.backends.postgresql", "django.contrib.gis.db.backends.postgis"):
        return "postgresql"
    raise CopyFailed(f"the portal's database engine {engine} cannot be copied (only SQLite and PostgreSQL can)")


def copy_name(dump_name: str, kind: str) -> str:
    """``neo4j-<date>-<time>.dump`` -> ``neo4j-<date>-<time>.portal.<sqlite3|pgdump>``."""
    name = dump_name.removesuffix(".dump") + SUFFIXES[kind]
    if not dump_name.endswith(".dump") or not PORTAL_DB_FILE_NAME.fullmatch(name):
        raise CopyFailed(f"{dump_name!r} is not a dump name the portal writes")
    return name


def copy_sqlite(source: Path, dest: Path) -> str:
    """SQLite's online backup: a consistent snapshot while the web server and the worker keep writing.

    One backup step copies every page under one read lock (a writer waits up to the busy timeout meanwhile; the
    portal's database is small). Copying page by page would let writers in between, and each write restarts it.
    """
    if str(source) in ("", ":memory:") or not source.is_file():
        raise CopyFailed(f"the portal's SQLite database {source} is not a file")
    # mode=rw: never creates an empty database where the real one is missing.
    src = sqlite3.connect(f"file:{quote(str(source))}?mode=rw", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)
            left_out = _empty_left_out_tables(dst)
            check = dst.execute("PRAGMA quick_check").fetchone()[0]
            tables = dst.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise CopyFailed(f"SQLite's backup of {source} failed: {exc}") from None
    finally:
        src.close()
    if check != "ok":
        raise CopyFailed(f"the copy of {source} does not pass SQLite's quick_check: {check}")
    return f"SQLite online backup of {source}: {tables} tables, quick_check ok; left out: the rows of {left_out}"


def _empty_left_out_tables(conn: sqlite3.Connection) -> str:
    """Delete the rows of LEFT_OUT_TABLES in the copy, then VACUUM: deleted rows stay readable in free pages until
    the file is rebuilt (and the online backup copies the source's free pages too, with whatever they held)."""
    present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    emptied = [table for table in LEFT_OUT_TABLES if table in present]
    for table in emptied:
        conn.execute(f'DELETE FROM "{table}"')  # names from the constant above, never from input
    conn.commit()
    conn.execute("VACUUM")
    return ", ".join(emptied) or "none (no such table)"


def pg_environment(db: dict[str, Any]) -> dict[str, str]:
    """The database and its credentials for libpq, in the environment: the password never on a command line."""
    env = {**os.environ, "PGDATABASE": str(db["NAME"])}  # an env value is never parsed as a connection string
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    for option, name in _LIBPQ_ENV.items():
        if (db.get("OPTIONS") or {}).get(option) is not None:
            env[name] = str(db["OPTIONS"][option])
    return env


def pg_dump_command(db: dict[str, Any], dest: Path, pg_dump: str) -> list[str]:
    args = [pg_dump, "--format=custom", "--no-password", f"--file={dest}"]
    args += [f"--exclude-table-data={table}" for table in LEFT_OUT_TABLES]
    if db.get("HOST"):
        args.append(f"--host={db['HOST']}")
    if db.get("PORT"):
        args.append(f"--port={db['PORT']}")
    if db.get("USER"):
        args.append(f"--username={db['USER']}")
    return args


def copy_postgresql(db: dict[str, Any], dest: Path) -> str:
    """``pg_dump --format=custom`` (one transaction, so consistent while others write), then read back its table of
    contents with ``pg_restore --list``."""
    pg_dump = shutil.which(settings.PG_DUMP)
    if pg_dump is None:
        raise CopyFailed(
            f"{settings.PG_DUMP!r} is not found: install PostgreSQL's client programs of the server's "
            f"major version (Debian: postgresql-client) or set PORTAL_PG_DUMP"
        )
    env = pg_environment(db)
    command = pg_dump_command(db, dest, pg_dump)
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=PG_DUMP_TIMEOUT)
    shown = f"PGDATABASE={shlex.quote(str(db['NAME']))} {shlex.join(command)}"
    if proc.returncode != 0:
        raise CopyFailed(f"$ {shown}\npg_dump exited with {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    listed = subprocess.run(
        [str(Path(pg_dump).with_name("pg_restore")), "--list", str(dest)],
        capture_output=True,
        text=True,
        timeout=PG_DUMP_TIMEOUT,
    )
    if listed.returncode != 0:
        raise CopyFailed(f"pg_restore --list cannot read the dump: {listed.stderr.strip()[-2000:]}")
    tables = sum(" TABLE DATA " in line for line in listed.stdout.splitlines())
    return (
        f"$ {shown}\npg_dump of database {db['NAME']!r}: {tables} tables' data, pg_restore --list reads it; "
        f"left out: the rows of {', '.join(LEFT_OUT_TABLES)}"
    )


def copy_portal_database(
    backup_dir: Path, dump_name: str, work_dir: Path, db: dict[str, Any] | None = None
) -> PortalDbCopy:
    """Copy the portal's database (``db``: Django's settings of one; default its ``default`` database) beside the
    dump ``dump_name``; ``work_dir`` (emptied, then removed) holds the copy until it is complete. Raises CopyFailed."""
    if db is None:
        db = connections["default"].settings_dict  # under tests, the test database (settings.DATABASES may differ)
    kind = engine_kind(db)
    name = copy_name(dump_name, kind)
    final = Path(backup_dir) / name
    try:
        shutil.rmtree(work_dir, ignore_errors=True)
        work_dir.mkdir(mode=OWNER_ONLY_DIR, parents=True)
        try:
            partial = work_dir / name
            if kind == "sqlite":
                detail = copy_sqlite(Path(db["NAME"]), partial)
            else:
                detail = copy_postgresql(db, partial)
            os.chmod(partial, OWNER_ONLY_FILE)  # pg_dump and sqlite3 create it by the umask, readable by all
            with open(partial, "rb") as fh:
                os.fsync(fh.fileno())
                sha256 = hashlib.file_digest(fh, "sha256").hexdigest()
            try:
                os.link(partial, final)  # never replaces a file
            except FileExistsError:
                raise CopyFailed(f"{final} already exists; not replaced") from None
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
        dir_fd = os.open(backup_dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        size = final.stat().st_size
    except (OSError, subprocess.SubprocessError) as exc:  # disk full, no permission, pg_dump hung: said, not traced
        raise CopyFailed(f"copying the portal's database to {final} failed: {exc}") from None
    return PortalDbCopy(path=final, size=size, sha256=sha256, detail=detail)
