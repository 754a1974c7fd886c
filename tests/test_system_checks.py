"""Advice through Django's system checks: settings that are legal but unwise (security/checks.py,
operations/system_checks.py). Each check is seen to fire and to stay quiet; that they are registered is seen through
Django's own run_checks."""

from __future__ import annotations

import pytest
from django.core.checks import Tags, run_checks

from operations.backups import system_checks as backups_checks
from operations.models import AlertSettings
from operations.unattended import system_checks as unattended_checks
from security import checks as security_checks

pytestmark = pytest.mark.unit


def ids(messages) -> list[str]:
    return [m.id for m in messages]


# -- staff accounts (security/checks.py) ---------------------------------------------------------------------
@pytest.fixture
def production(settings):
    """The settings of a production portal with every staff-account setting at its default."""
    settings.PRODUCTION = True
    settings.REQUIRE_2FA = True
    settings.SESSION_IDLE_SECONDS = settings.SESSION_COOKIE_AGE = 30 * 60
    settings.OTP_TOTP_THROTTLE_FACTOR = settings.OTP_STATIC_THROTTLE_FACTOR = 1
    return settings


def test_production_defaults_give_no_staff_account_advice(production):
    assert security_checks.staff_account_advice(None) == []


def test_two_factor_turned_off_in_production(production):
    production.REQUIRE_2FA = False
    assert ids(security_checks.staff_account_advice(None)) == ["portal_security.W001"]
    production.PRODUCTION = False
    assert security_checks.staff_account_advice(None) == []


def test_sessions_longer_than_twelve_hours_in_production(production):
    production.SESSION_IDLE_SECONDS = production.SESSION_COOKIE_AGE = 12 * 3600
    assert security_checks.staff_account_advice(None) == []
    production.SESSION_IDLE_SECONDS = production.SESSION_COOKIE_AGE = 12 * 3600 + 60
    messages = security_checks.staff_account_advice(None)
    assert ids(messages) == ["portal_security.W002"] and "PORTAL_SESSION_IDLE_MINUTES" in messages[0].msg
    production.PRODUCTION = False
    assert security_checks.staff_account_advice(None) == []


def test_second_factor_codes_without_throttling_in_production(production):
    production.OTP_TOTP_THROTTLE_FACTOR = production.OTP_STATIC_THROTTLE_FACTOR = 0
    messages = security_checks.staff_account_advice(None)
    assert ids(messages) == ["portal_security.W003"] and "PORTAL_OTP_THROTTLE_FACTOR" in messages[0].msg
    production.PRODUCTION = False
    assert security_checks.staff_account_advice(None) == []


def test_staff_account_advice_is_a_deployment_check(production):
    production.REQUIRE_2FA = False
    assert "portal_security.W001" in ids(run_checks(tags=[Tags.security], include_deployment_checks=True))
    assert "portal_security.W001" not in ids(run_checks(tags=[Tags.security]))


# -- backups beside the store (operations/backups/system_checks.py, operations/unattended/system_checks.py) ---------------------------------------------------
@pytest.fixture
def local_neo4j(settings, tmp_path):
    """A local target's installation (home and conf/neo4j.conf) whose data directory is <home>/data."""
    home = tmp_path / "neo4j"
    (home / "conf").mkdir(parents=True)
    (home / "conf" / "neo4j.conf").write_text("server.memory.heap.max_size=512m\n")
    settings.OPERATIONS_TARGET = "local"
    settings.NEO4J_HOME = home
    settings.NEO4J_CONF_DIR = None
    settings.BACKUP_DIR = tmp_path / "backups"
    return home


def test_backups_outside_the_data_directory_give_no_advice(local_neo4j):
    assert backups_checks.backups_beside_the_store(None) == []


def test_backups_inside_the_local_targets_data_directory(local_neo4j, settings):
    settings.BACKUP_DIR = local_neo4j / "data" / "backups"
    messages = backups_checks.backups_beside_the_store(None)
    assert ids(messages) == ["operations.W001"]
    assert str(local_neo4j / "data") in messages[0].msg and "PORTAL_BACKUP_DIR" in messages[0].msg
    settings.BACKUP_DIR = local_neo4j / "data"
    assert ids(backups_checks.backups_beside_the_store(None)) == ["operations.W001"]


def test_the_data_directory_is_read_from_neo4j_conf(local_neo4j, settings, tmp_path):
    (local_neo4j / "conf" / "neo4j.conf").write_text(f"server.directories.data={tmp_path / 'store'}\n")
    settings.BACKUP_DIR = local_neo4j / "data" / "backups"  # Neo4j's default place, not the configured one
    assert backups_checks.backups_beside_the_store(None) == []
    settings.BACKUP_DIR = tmp_path / "store" / "backups"
    assert ids(backups_checks.backups_beside_the_store(None)) == ["operations.W001"]


def test_no_advice_when_the_local_installation_is_not_there(local_neo4j, settings, tmp_path):
    settings.BACKUP_DIR = tmp_path / "elsewhere" / "data" / "backups"
    settings.NEO4J_HOME = tmp_path / "elsewhere"  # not an installation: the target's own checks say so
    assert backups_checks.backups_beside_the_store(None) == []
    settings.NEO4J_HOME = None
    assert backups_checks.backups_beside_the_store(None) == []


def test_backups_inside_the_docker_targets_data_directory(settings, tmp_path):
    settings.OPERATIONS_TARGET = "docker"
    settings.NEO4J_DATA_DIR = str(tmp_path / "neo4j-data")
    settings.BACKUP_DIR = tmp_path / "neo4j-data" / "backups"
    assert ids(backups_checks.backups_beside_the_store(None)) == ["operations.W001"]
    settings.BACKUP_DIR = tmp_path / "backups"
    assert backups_checks.backups_beside_the_store(None) == []
    settings.NEO4J_DATA_DIR = ""  # found through the Docker engine only, which a check does not ask
    settings.BACKUP_DIR = tmp_path / "neo4j-data" / "backups"
    assert backups_checks.backups_beside_the_store(None) == []


def test_backups_beside_the_store_is_a_registered_check(local_neo4j, settings):
    settings.BACKUP_DIR = local_neo4j / "data" / "backups"
    assert "operations.W001" in ids(run_checks(tags=["operations"]))


# -- alerts with nobody to tell (operations/system_checks.py) -------------------------------------------------
@pytest.fixture
def silent_alerts(settings, db):
    """A production portal with no alert recipient and no webhook anywhere."""
    settings.PRODUCTION = True
    settings.ALERT_EMAILS = []
    settings.ALERT_WEBHOOK_URL = ""
    AlertSettings.objects.filter(pk=1).delete()
    return settings


def test_alerts_with_no_channel_in_production(silent_alerts):
    messages = unattended_checks.alert_channels(None, databases=["default"])
    assert ids(messages) == ["operations.W002"] and "PORTAL_ALERT_EMAILS" in messages[0].hint
    AlertSettings.objects.create(pk=1)  # the admin's row, left empty
    assert ids(unattended_checks.alert_channels(None, databases=["default"])) == ["operations.W002"]


@pytest.mark.parametrize(
    "where",
    ["PORTAL_ALERT_EMAILS", "PORTAL_ALERT_WEBHOOK_URL", "admin recipients", "admin webhook", "development"],
)
def test_any_alert_channel_quiets_the_advice(silent_alerts, where):
    if where == "PORTAL_ALERT_EMAILS":
        silent_alerts.ALERT_EMAILS = ["ops@example.org"]
    elif where == "PORTAL_ALERT_WEBHOOK_URL":
        silent_alerts.ALERT_WEBHOOK_URL = "https://chat.example.org/hooks/abc"
    elif where == "admin recipients":
        AlertSettings.objects.create(pk=1, recipients="ops@example.org")
    elif where == "admin webhook":
        AlertSettings.objects.create(pk=1, webhook_url="https://chat.example.org/hooks/abc")
    else:
        silent_alerts.PRODUCTION = False
    assert unattended_checks.alert_channels(None, databases=["default"]) == []


def test_alert_advice_needs_the_database(silent_alerts):
    """Without a database to read the admin's alert settings from (plain `check`), the check cannot tell."""
    assert unattended_checks.alert_channels(None, databases=None) == []
    assert AlertSettings.objects.count() == 0  # and it never creates the row


def test_alert_advice_is_a_registered_database_check(silent_alerts):
    assert "operations.W002" in ids(run_checks(tags=[Tags.database], databases=["default"]))
    assert "operations.W002" not in ids(run_checks(tags=[Tags.database]))
