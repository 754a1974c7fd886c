"""Nothing in the portal database copy beside a backup lets anyone sign in (issue 26): recovery codes are kept
hashed in the live database, and the SQLite copy holds no session, no Axes attempt and no authenticator secret, not
even in its free pages. The PostgreSQL copy: tests/operations/test_portal_db_copy.py."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from operations.backups import portal_db
from security import twofactor

from .passkey_support import passkey_row
from .two_factor_support import enrol, password_login

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


def test_recovery_codes_are_kept_hashed_and_still_work(client, alice):
    key, codes = enrol(alice)
    stored = set(StaticToken.objects.filter(device__user=alice).values_list("token", flat=True))
    assert len(stored) == 10
    plain = {twofactor.normalise(c) for c in codes}
    assert not stored & plain and not any(p in s for s in stored for p in plain)
    check = twofactor.check_code(alice, codes[3].upper(), "127.0.0.1", "login")
    assert check.ok and check.recovery and twofactor.recovery_codes_left(alice) == 9
    assert not twofactor.check_code(alice, codes[3], "127.0.0.1", "login").ok  # used up


@pytest.mark.django_db(transaction=True)
def test_the_migration_hashes_recovery_codes_kept_in_clear(alice):
    before, after = [("security", "0002_enrolment_page_opened")], [("security", "0003_hash_recovery_codes")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old_apps = executor.loader.project_state([*before, ("otp_static", "0003_add_timestamps")]).apps
        device = old_apps.get_model("otp_static", "StaticDevice").objects.create(
            user_id=alice.pk, name="recovery codes", confirmed=True
        )
        old_apps.get_model("otp_static", "StaticToken").objects.create(device=device, token="abcd2345")
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(after)
    assert list(StaticToken.objects.values_list("token", flat=True)) == [twofactor.recovery_hash("abcd2345")]
    assert twofactor.check_code(alice, "ABCD-2345", "127.0.0.1", "login").ok


def live_database_file(path: Path) -> Path:
    """The test database as a file (in the unit tier it lives in memory), made with SQLite's own backup."""
    connection.ensure_connection()
    with contextlib.closing(sqlite3.connect(path)) as dest:
        connection.connection.backup(dest)
    return path


@pytest.mark.django_db(transaction=True)
def test_the_sqlite_copy_holds_no_session_lockout_secret_or_recovery_code(client, alice, bob, tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("the PostgreSQL copy: tests/operations/test_portal_db_copy.py")
    key, codes = enrol(alice)
    passkey_row(alice)
    totp_hex = TOTPDevice.objects.get(user=alice).key
    password_login(client)
    session_keys = list(Session.objects.values_list("session_key", flat=True))
    Client().post(reverse("admin:login"), {"username": "bob", "password": "wrong", "next": "/admin/"})
    assert session_keys and AccessAttempt.objects.exists()

    live = live_database_file(tmp_path / "portal.sqlite3")
    backups = tmp_path / "backups"
    backups.mkdir()
    db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(live)}
    copy = portal_db.copy_portal_database(backups, "neo4j-20261206-120000.dump", tmp_path / ".work", db=db)

    with contextlib.closing(sqlite3.connect(f"file:{copy.path}?mode=ro", uri=True)) as conn:
        counted = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in (
                "django_session",
                "axes_accessattempt",
                "axes_accessfailurelog",
                "axes_accesslog",
                "otp_totp_totpdevice",
                "django_otp_webauthn_webauthncredential",
                "auth_user",
                "otp_static_statictoken",
                "security_securityevent",
            )
        }
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert counted["django_session"] == counted["otp_totp_totpdevice"] == 0
    assert counted["django_otp_webauthn_webauthncredential"] == 0  # a removed passkey must not come back
    assert counted["axes_accessattempt"] == counted["axes_accessfailurelog"] == counted["axes_accesslog"] == 0
    # what the copy is for stays: the accounts, the (hashed) recovery codes, the audit list
    assert counted["auth_user"] == 2 and counted["otp_static_statictoken"] == 10 and counted["security_securityevent"]
    # Not even in the file's free pages.
    raw = copy.path.read_bytes()
    secrets_in_clear = [totp_hex, totp_hex.upper(), *session_keys, *(twofactor.normalise(c) for c in codes)]
    assert [s for s in secrets_in_clear if s.encode() in raw] == []
    assert key not in raw
    # The live database still has them: the copy was scrubbed, not the source.
    with contextlib.closing(sqlite3.connect(live)) as conn:
        assert conn.execute("SELECT count(*) FROM django_session").fetchone()[0] == len(session_keys)
        assert conn.execute("SELECT count(*) FROM otp_totp_totpdevice").fetchone()[0] == 1
    assert "left out" in copy.detail
