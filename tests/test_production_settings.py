"""Production mode refuses unsafe settings and passes Django's deployment checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Unit tier: real manage.py processes, but none of them reaches a service.
pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parent.parent
GOOD_KEY = "x" * 20 + "-production-secret-key-for-tests-0123456789"


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PORTAL_MODE": "production", "PORTAL_ALLOWED_HOSTS": "portal.example.org", **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120
    )


def test_deploy_check_passes_in_production_mode():
    proc = manage("check", "--deploy", "--fail-level", "WARNING", PORTAL_SECRET_KEY=GOOD_KEY)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no issues" in proc.stdout


def test_production_refuses_debug():
    proc = manage("check", PORTAL_SECRET_KEY=GOOD_KEY, PORTAL_DEBUG="true")
    assert proc.returncode != 0
    assert "PORTAL_DEBUG must be off" in proc.stderr


def test_production_refuses_missing_or_default_secret_key():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_SECRET_KEY")}
    proc = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**env, "PORTAL_MODE": "production"},
        timeout=120,
    )
    assert proc.returncode != 0
    assert "PORTAL_SECRET_KEY" in proc.stderr
    proc = manage("check", PORTAL_SECRET_KEY="dev-only-insecure-key-do-not-use-in-production")
    assert proc.returncode != 0 and "PORTAL_SECRET_KEY" in proc.stderr


def test_secret_key_from_file(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text(GOOD_KEY + "\n")
    proc = manage("check", "--deploy", "--fail-level", "WARNING", PORTAL_SECRET_KEY_FILE=str(key_file))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_missing_state_store_setting_is_named():
    env = {k: v for k, v in os.environ.items() if k != "NEO4J_PASS"}
    proc = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode != 0
    assert "NEO4J_PASS" in proc.stderr


def test_bad_values_are_named():
    proc = manage("check", PORTAL_SECRET_KEY=GOOD_KEY, NEO4J_URL="http://nowhere")
    assert proc.returncode != 0 and "NEO4J_URL" in proc.stderr
    proc = manage("check", PORTAL_SECRET_KEY=GOOD_KEY, PORTAL_LOGIN_FAILURE_LIMIT="many")
    assert proc.returncode != 0 and "PORTAL_LOGIN_FAILURE_LIMIT" in proc.stderr


def test_production_requires_two_factor_unless_told_otherwise():
    show = "from django.conf import settings as s; print(s.REQUIRE_2FA, s.STEP_UP_SECONDS, s.SESSION_COOKIE_AGE)"
    proc = manage("shell", "-c", show, PORTAL_SECRET_KEY=GOOD_KEY)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1].split() == ["True", "300", "1800"]
    proc = manage("shell", "-c", show, PORTAL_SECRET_KEY=GOOD_KEY, PORTAL_REQUIRE_2FA="false")
    assert proc.stdout.splitlines()[-1].split()[0] == "False"
    proc = manage("check", PORTAL_SECRET_KEY=GOOD_KEY, PORTAL_SESSION_IDLE_MINUTES="0")
    assert proc.returncode != 0 and "PORTAL_SESSION_IDLE_MINUTES" in proc.stderr
