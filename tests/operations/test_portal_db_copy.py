"""The copy of the portal's own database taken with every backup (operations/backups/portal_db.py): PostgreSQL against a
real server from Debian's packages that this module starts, SQLite while another connection keeps writing, and the
file name rules. A backup run's copy is checked in test_backup_restore_roundtrip.py and test_operations_commands.py.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import dj_database_url
import psycopg
import pytest
from django.conf import settings

from operations.backups import portal_db
from operations.backups.procedures.dumps import sha256_of
from operations.models import Backup
from scripts.postgres import PostgresError, PostgresServer

PG_BIN = Path("/usr/lib/postgresql/15/bin")
DUMP_NAME = "neo4j-20261201-120000.dump"
ROWS = [(1, "alice", "added identity"), (2, "bob", "rotated key 'x'"), (3, "carol", "ünïcode; DROP TABLE x")]


@pytest.fixture(scope="module")
def postgres() -> Iterator[dict]:
    """A throw-away PostgreSQL 15 server on 127.0.0.1 (password authentication only), in the test state dir; the
    same class as the suite's own server (scripts/postgres.py), on the port below that one."""
    slot = int(os.environ.get("PORTAL_TEST_SLOT", "0") or 0)
    server = PostgresServer(Path(settings.DATA_DIR) / "postgres-copy-test", 15432 + 100 * slot)
    server.stop()  # a server an interrupted earlier run left behind
    shutil.rmtree(server.home, ignore_errors=True)
    password = "pw-" + secrets.token_urlsafe(12) + "'\" $x"  # quoting-hostile, so it must travel in PGPASSWORD
    try:
        server.init(password)
        server.start()
    except PostgresError as exc:
        pytest.fail(str(exc))
    try:
        yield {"url": server.url(password).rstrip("/"), "password": password, "port": server.port}
    finally:
        server.stop()
        shutil.rmtree(server.home, ignore_errors=True)


def _rows(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT id, who, what FROM audit_entry ORDER BY id").fetchall()


def test_postgresql_copy_restores_into_a_fresh_database_and_over_a_changed_one(postgres, tmp_path):
    url = f"{postgres['url']}/portal"
    with psycopg.connect(f"{postgres['url']}/postgres", autocommit=True) as admin:
        admin.execute("CREATE DATABASE portal")
        admin.execute("CREATE DATABASE fresh")
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE audit_entry (id integer PRIMARY KEY, who text NOT NULL, what text NOT NULL)")
        conn.cursor().executemany("INSERT INTO audit_entry VALUES (%s, %s, %s)", ROWS)
    backups = tmp_path / "backups"
    backups.mkdir()

    db = dj_database_url.parse(url)  # as alchemiscale_portal/settings/database.py reads DATABASE_URL
    copy = portal_db.copy_portal_database(backups, DUMP_NAME, backups / ".in-progress-test", db=db)

    assert copy.path == backups / "neo4j-20261201-120000.portal.pgdump"
    assert sorted(p.name for p in backups.iterdir()) == [copy.path.name]  # the work directory is gone
    assert copy.size == copy.path.stat().st_size and copy.sha256 == sha256_of(copy.path)
    assert postgres["password"] not in copy.detail and "--format=custom" in copy.detail
    pg_restore = str(PG_BIN / "pg_restore")
    listed = subprocess.run([pg_restore, "--list", str(copy.path)], capture_output=True, text=True, check=True)
    assert "TABLE public audit_entry" in listed.stdout and "TABLE DATA public audit_entry" in listed.stdout

    env = {**os.environ, "PGPASSWORD": postgres["password"]}
    connect = ["--host=127.0.0.1", f"--port={postgres['port']}", "--username=portal_admin", "--no-password"]
    # Into a fresh database ...
    subprocess.run([pg_restore, *connect, "--dbname=fresh", str(copy.path)], env=env, check=True, capture_output=True)
    assert _rows(f"{postgres['url']}/fresh") == ROWS
    # ... and as docs/portal-database-backup.md says, over the portal's database after it changed.
    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM audit_entry WHERE id = 1")
        conn.execute("UPDATE audit_entry SET what = 'changed'")
    subprocess.run(
        [pg_restore, *connect, "--clean", "--if-exists", "--dbname=portal", str(copy.path)],
        env=env,
        check=True,
        capture_output=True,
    )
    assert _rows(url) == ROWS


def test_postgresql_copy_leaves_out_sessions_lockouts_and_authenticator_secrets(postgres, tmp_path):
    """The tables the portal's migrations make, by the names the copy knows them by; their rows are what must not
    be in a copy (docs/portal-database-backup.md): the tables stay, empty."""
    url = f"{postgres['url']}/secrets"
    with psycopg.connect(f"{postgres['url']}/postgres", autocommit=True) as admin:
        admin.execute("CREATE DATABASE secrets")
    session_key, totp_key = secrets.token_hex(16), secrets.token_hex(20)
    with psycopg.connect(url) as conn:
        for statement in [
            "CREATE TABLE auth_user (id integer PRIMARY KEY, username text NOT NULL)",
            "CREATE TABLE django_session (session_key varchar(40) PRIMARY KEY, session_data text NOT NULL)",
            "CREATE TABLE axes_accessattempt (id integer PRIMARY KEY, username text, ip_address inet)",
            "CREATE TABLE axes_accessattemptexpiration "
            "(access_attempt_id integer PRIMARY KEY REFERENCES axes_accessattempt (id), expires_at timestamptz)",
            "CREATE TABLE axes_accesslog (id integer PRIMARY KEY, username text)",
            "CREATE TABLE axes_accessfailurelog (id integer PRIMARY KEY, username text)",
            "CREATE TABLE otp_totp_totpdevice (id integer PRIMARY KEY, user_id integer, key varchar(80) NOT NULL)",
            "CREATE TABLE otp_static_statictoken (id integer PRIMARY KEY, token varchar(16) NOT NULL)",
            "CREATE TABLE django_otp_webauthn_webauthncredential "
            "(id integer PRIMARY KEY, user_id integer, public_key text NOT NULL)",
            "CREATE TABLE django_otp_webauthn_webauthnattestation "
            "(id integer PRIMARY KEY, credential_id integer REFERENCES django_otp_webauthn_webauthncredential (id), "
            "data text NOT NULL)",
        ]:
            conn.execute(statement)
        conn.execute("INSERT INTO auth_user VALUES (1, 'alice')")
        conn.execute("INSERT INTO django_session VALUES (%s, 'logged-in-as-alice')", [session_key])
        conn.execute("INSERT INTO axes_accessattempt VALUES (1, 'locked-out-bob', '127.0.0.1')")
        conn.execute("INSERT INTO axes_accessattemptexpiration VALUES (1, now())")
        conn.execute("INSERT INTO axes_accesslog VALUES (1, 'logged-bob')")
        conn.execute("INSERT INTO axes_accessfailurelog VALUES (1, 'failed-bob')")
        conn.execute("INSERT INTO otp_totp_totpdevice VALUES (1, 1, %s)", [totp_key])
        conn.execute("INSERT INTO otp_static_statictoken VALUES (1, 'HASHEDRECOVERY23')")
        conn.execute("INSERT INTO django_otp_webauthn_webauthncredential VALUES (1, 1, 'passkey-public-key')")
        conn.execute("INSERT INTO django_otp_webauthn_webauthnattestation VALUES (1, 1, 'passkey-attestation')")
    backups = tmp_path / "backups"
    backups.mkdir()

    copy = portal_db.copy_portal_database(backups, DUMP_NAME, backups / ".work", db=dj_database_url.parse(url))

    script = subprocess.run(
        [str(PG_BIN / "pg_restore"), "--file=-", str(copy.path)], capture_output=True, text=True, check=True
    ).stdout
    for table in portal_db.LEFT_OUT_TABLES:
        assert f"CREATE TABLE public.{table} " in script, table
    for secret in (
        session_key,
        totp_key,
        "logged-in-as-alice",
        "locked-out-bob",
        "logged-bob",
        "failed-bob",
        "passkey-public-key",
        "passkey-attestation",
    ):
        assert secret not in script, secret
    assert "alice" in script and "HASHEDRECOVERY23" in script  # everything else is kept
    assert "left out: the rows of django_session" in copy.detail


def test_postgresql_copy_failure_says_why_without_the_password(postgres, tmp_path):
    db = dj_database_url.parse(f"{postgres['url'].replace(':pw-', ':wrong-pw-')}/portal")
    with pytest.raises(portal_db.CopyFailed, match="pg_dump exited with 1") as failed:
        portal_db.copy_portal_database(tmp_path, DUMP_NAME, tmp_path / ".work", db=db)
    assert "password authentication failed" in str(failed.value)
    assert postgres["password"] not in str(failed.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.unit
def test_sqlite_copy_is_consistent_while_another_connection_writes(tmp_path):
    source = tmp_path / "portal.sqlite3"
    with contextlib.closing(sqlite3.connect(source)) as conn:
        conn.execute("CREATE TABLE entry (id INTEGER PRIMARY KEY, a INTEGER NOT NULL, b INTEGER NOT NULL)")
        conn.commit()
    stop, writing = threading.Event(), threading.Event()

    def write() -> None:
        # Each transaction inserts a row and moves one unit between a and b: in any consistent state sum(a+b) = n.
        with contextlib.closing(sqlite3.connect(source, timeout=30, isolation_level=None)) as conn:
            while not stop.is_set():
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO entry (a, b) VALUES (1, 0)")
                conn.execute("UPDATE entry SET a = a - 1, b = b + 1 WHERE id = (SELECT min(id) FROM entry)")
                conn.execute("COMMIT")
                writing.set()
                stop.wait(0.001)  # a busy portal, not a tight loop that starves every reader

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert writing.wait(30)
        copies = [
            portal_db.copy_portal_database(
                tmp_path,
                f"neo4j-20261201-12000{i}.dump",
                tmp_path / ".work",
                db={"ENGINE": "django.db.backends.sqlite3", "NAME": str(source)},
            )
            for i in range(3)
        ]
    finally:
        stop.set()
        writer.join()
    for copy in copies:
        with contextlib.closing(sqlite3.connect(f"file:{copy.path}?mode=ro", uri=True)) as conn:
            n, total = conn.execute("SELECT count(*), coalesce(sum(a + b), 0) FROM entry").fetchone()
        assert 0 < n == total and copy.sha256 == sha256_of(copy.path)
    assert [c.path.name for c in copies] == [f"neo4j-20261201-12000{i}.portal.sqlite3" for i in range(3)]


@pytest.mark.unit
def test_sqlite_copy_never_creates_a_missing_database_nor_replaces_a_file(tmp_path):
    missing = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "nowhere.sqlite3")}
    with pytest.raises(portal_db.CopyFailed, match="is not a file"):
        portal_db.copy_portal_database(tmp_path, DUMP_NAME, tmp_path / ".work", db=missing)
    assert not (tmp_path / "nowhere.sqlite3").exists()
    source = tmp_path / "portal.sqlite3"
    sqlite3.connect(source).close()
    (tmp_path / "neo4j-20261201-120000.portal.sqlite3").write_bytes(b"older")
    with pytest.raises(portal_db.CopyFailed, match="already exists; not replaced"):
        portal_db.copy_portal_database(
            tmp_path, DUMP_NAME, tmp_path / ".work", db={"ENGINE": "django.db.backends.sqlite3", "NAME": str(source)}
        )
    assert (tmp_path / "neo4j-20261201-120000.portal.sqlite3").read_bytes() == b"older"


@pytest.mark.unit
def test_copy_names_are_never_dumps_and_never_leave_the_backups_directory():
    assert portal_db.copy_name("neo4j-20261201-120000-2.dump", "sqlite") == "neo4j-20261201-120000-2.portal.sqlite3"
    with pytest.raises(portal_db.CopyFailed):
        portal_db.copy_name("../neo4j-20261201-120000.dump", "postgresql")
    backup = Backup(file_name=DUMP_NAME, portal_db_file="neo4j-20261201-120000.portal.pgdump")
    assert backup.portal_db_path_in(Path("/b")) == Path("/b/neo4j-20261201-120000.portal.pgdump")
    for bad in ("../neo4j-20261201-120000.portal.pgdump", "neo4j-20261201-120000.dump", "/etc/passwd"):
        with pytest.raises(ValueError):
            Backup(file_name=DUMP_NAME, portal_db_file=bad).portal_db_path_in(Path("/b"))
    # A copy's name is not a dump's: nothing that looks for dumps takes it for one.
    with pytest.raises(ValueError):
        Backup(file_name="neo4j-20261201-120000.portal.sqlite3").path_in(Path("/b"))
    assert Backup(file_name=DUMP_NAME).portal_db_path_in(Path("/b")) is None
