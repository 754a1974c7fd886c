"""Settings parsing (alchemiscale_portal/settings/ and env.py), unit tier: the settings package is loaded afresh in
this process from a chosen environment, so each case costs milliseconds. That manage.py refuses to start on a bad
value, and Django's deployment checks, are tests/test_production_settings.py (real processes)."""

import importlib.util
import os
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from alchemiscale_portal import env as portal_env

pytestmark = pytest.mark.unit

SETTINGS = Path(portal_env.__file__).with_name("settings")
# Loaded under a name of its own, so that the settings this process runs with stay as they are.
UNDER_TEST = "alchemiscale_portal._settings_under_test"
BASE = {"NEO4J_URL": "bolt://127.0.0.1:7687", "NEO4J_USER": "neo4j", "NEO4J_PASS": "state-store-pw"}
OURS = ("PORTAL_", "NEO4J_", "REDIS_URL", "DATABASE_URL", "EMAIL_", "DEFAULT_FROM_EMAIL")


def forget_loaded_settings() -> None:
    """The package's modules read the environment when executed: drop those of an earlier load."""
    for name in [n for n in sys.modules if n == UNDER_TEST or n.startswith(UNDER_TEST + ".")]:
        del sys.modules[name]


@pytest.fixture
def load(monkeypatch, tmp_path):
    """load(**env) -> a fresh settings package read from exactly BASE + env (and a scratch data directory)."""

    def load(**env):
        for name in list(os.environ):
            if name.startswith(OURS):
                monkeypatch.delenv(name)
        for name, value in {**BASE, "PORTAL_DATA_DIR": str(tmp_path), **env}.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        forget_loaded_settings()
        spec = importlib.util.spec_from_file_location(
            UNDER_TEST, SETTINGS / "__init__.py", submodule_search_locations=[str(SETTINGS)]
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[UNDER_TEST] = module  # its modules' relative imports look their package up there
        spec.loader.exec_module(module)
        return module

    yield load
    forget_loaded_settings()


def test_defaults(load, tmp_path):
    s = load()
    assert (s.PORTAL_MODE, s.DEBUG, s.REDIS_URL) == ("development", True, "redis://127.0.0.1:6379/0")
    assert s.CELERY_BROKER_URL == s.REDIS_URL and s.OPERATIONS_TARGET == "local" and s.OPERATIONS_QUEUES == {}
    assert s.NEOMODEL_NEO4J_BOLT_URL == "bolt://neo4j:state-store-pw@127.0.0.1:7687/neo4j"
    assert s.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert s.DATABASES["default"]["NAME"] == str(tmp_path / "portal.sqlite3")
    assert s.BACKUP_DIR == tmp_path / "backups"


def test_the_cache_is_redis_in_a_database_of_its_own(load):
    cache = load(REDIS_URL="redis://:pw@127.0.0.1:6390/0").CACHES["default"]
    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert cache["LOCATION"] == "redis://:pw@127.0.0.1:6390/1" and cache["KEY_PREFIX"] == "portal"
    assert load(REDIS_URL="redis://h:1", PORTAL_CACHE_URL="redis://h:1/5").CACHES["default"]["LOCATION"] == (
        "redis://h:1/5"
    )
    locmem = load(PORTAL_CACHE_URL="locmem://").CACHES["default"]
    assert locmem["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


@pytest.mark.parametrize(
    "env, words",
    [
        ({"REDIS_URL": "redis://:sesame-pw@h:1/2", "PORTAL_CACHE_URL": "redis://:sesame-pw@h:1/2"}, "another Redis"),
        ({"REDIS_URL": "redis://h:1", "PORTAL_CACHE_URL": "redis://h:1/0"}, "another Redis"),
        ({"PORTAL_CACHE_URL": "memcached://:sesame-pw@h:11211"}, "redis://host:port/db or locmem://"),
    ],
)
def test_a_cache_that_would_share_the_brokers_database_is_refused(load, env, words):
    with pytest.raises(ImproperlyConfigured, match="PORTAL_CACHE_URL") as info:
        load(**env)
    assert words in str(info.value) and "sesame-pw" not in str(info.value)


def test_credentials_are_quoted_into_neomodels_url(load):
    s = load(NEO4J_USER="a@b", NEO4J_PASS="p/w:@#", NEO4J_DBNAME="my db", NEO4J_URL="neo4j+s://u:x@host:7687")
    assert s.NEOMODEL_NEO4J_BOLT_URL == "neo4j+s://a%40b:p%2Fw%3A%40%23@host:7687/my%20db"


@pytest.mark.parametrize(
    "env, named",
    [
        ({"NEO4J_PASS": None}, "NEO4J_PASS"),
        ({"NEO4J_URL": "http://neo4j:sesame-pw@host"}, "NEO4J_URL"),
        ({"PORTAL_DEBUG": "maybe"}, "PORTAL_DEBUG"),
        ({"PORTAL_NEO4J_START_TIMEOUT": "soon"}, "PORTAL_NEO4J_START_TIMEOUT"),
        ({"PORTAL_OPERATIONS_TARGET": "cloud"}, "PORTAL_OPERATIONS_TARGET"),
        ({"PORTAL_OPERATIONS_QUEUES": "local:ops,elsewhere:q"}, "PORTAL_OPERATIONS_QUEUES"),
        ({"PORTAL_OPERATIONS_QUEUES": "local"}, "PORTAL_OPERATIONS_QUEUES"),
        ({"PORTAL_METRICS_TOKEN": "short"}, "PORTAL_METRICS_TOKEN"),
        ({"PORTAL_METRICS_ALLOWED": "10.0.0.0/8,not-a-network"}, "PORTAL_METRICS_ALLOWED"),
        ({"DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL"),
        ({"PORTAL_MODE": "staging"}, "PORTAL_MODE"),
        ({"PORTAL_MODE": "production", "PORTAL_SECRET_KEY": "x" * 40, "PORTAL_DEBUG": "on"}, "PORTAL_DEBUG"),
        ({"PORTAL_MODE": "production", "PORTAL_SECRET_KEY": "too-short"}, "PORTAL_SECRET_KEY"),
        ({"PORTAL_SECRET_KEY_FILE": "/nonexistent/key"}, "PORTAL_SECRET_KEY_FILE"),
    ],
)
def test_a_bad_or_missing_value_is_named(load, env, named):
    with pytest.raises(ImproperlyConfigured, match=named) as info:
        load(**env)
    assert "sesame-pw" not in str(info.value)


def test_queues_per_target_and_lists(load):
    s = load(
        PORTAL_OPERATIONS_QUEUES=" local : ops-local ,docker:ops-docker,",
        PORTAL_ALLOWED_HOSTS="a.example.org, b.example.org,,",
        PORTAL_METRICS_ALLOWED="127.0.0.1, 10.1.2.3/8",
    )
    assert s.OPERATIONS_QUEUES == {"local": "ops-local", "docker": "ops-docker"}
    assert s.ALLOWED_HOSTS == ["a.example.org", "b.example.org"]
    assert [str(n) for n in s.METRICS_ALLOWED] == ["127.0.0.1/32", "10.0.0.0/8"]


def test_production_takes_its_secret_from_a_file_and_hardens_cookies(load, tmp_path):
    key = tmp_path / "key"
    key.write_text("k" * 50 + "\n")
    s = load(PORTAL_MODE="production", PORTAL_SECRET_KEY_FILE=str(key), PORTAL_ALLOWED_HOSTS="portal.example.org")
    assert s.SECRET_KEY == "k" * 50 and s.DEBUG is False and s.SESSION_COOKIE_SECURE and s.SECURE_SSL_REDIRECT
    assert s.ALLOWED_HOSTS == ["portal.example.org"]


def test_postgres_and_sqlite_databases(load):
    pg = load(DATABASE_URL="postgres://portal:pw@127.0.0.1:5433/portal").DATABASES["default"]
    assert (pg["ENGINE"], pg["NAME"], pg["PORT"], pg["CONN_MAX_AGE"]) == (
        "django.db.backends.postgresql",
        "portal",
        5433,
        60,
    )
    lite = load(PORTAL_TEST_SQLITE="/tmp/t.sqlite3").DATABASES["default"]
    assert lite["OPTIONS"]["transaction_mode"] == "IMMEDIATE" and lite["TEST"]["NAME"] == "/tmp/t.sqlite3"


@pytest.mark.parametrize(
    "raw, value", [("1", True), ("YES", True), (" on ", True), ("false", False), ("0", False), ("", None)]
)
def test_env_bool(monkeypatch, raw, value):
    monkeypatch.setenv("PORTAL_X", raw)
    assert portal_env.env_bool("PORTAL_X", None) is value  # type: ignore[arg-type]


def test_env_readers(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_X", "12")
    assert portal_env.env_int("PORTAL_X", 3) == 12 and portal_env.env_int("PORTAL_UNSET_X", 3) == 3
    monkeypatch.setenv("PORTAL_X", "")
    assert portal_env.env_str("PORTAL_X", "default") == "default"
    with pytest.raises(ImproperlyConfigured, match="PORTAL_X is required"):
        portal_env.env_str("PORTAL_X")
    secret = tmp_path / "s"
    secret.write_text("  from-file \n")
    monkeypatch.setenv("PORTAL_X_FILE", str(secret))
    assert portal_env.env_str("PORTAL_X") == "from-file"
    monkeypatch.setenv("PORTAL_Y", "a, b,,c ")
    assert portal_env.env_list("PORTAL_Y", []) == ["a", "b", "c"]


def test_passkey_relying_party_defaults(load):
    s = load()
    assert (s.OTP_WEBAUTHN_RP_ID, s.OTP_WEBAUTHN_ALLOWED_ORIGINS) == ("localhost", ["http://localhost:8000"])
    assert s.OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN is True
    production = {"PORTAL_MODE": "production", "PORTAL_SECRET_KEY": "k" * 40}
    # addresses and names outside the relying party's domain cannot carry its passkeys
    s = load(**production, PORTAL_ALLOWED_HOSTS="127.0.0.1,portal.example.org,.portal.example.org,other.example.net")
    assert s.OTP_WEBAUTHN_RP_ID == "portal.example.org"
    assert s.OTP_WEBAUTHN_ALLOWED_ORIGINS == ["https://portal.example.org"]
    s = load(**production, PORTAL_ALLOWED_HOSTS="a.example.org", PORTAL_WEBAUTHN_ORIGINS="https://a.example.org:8443/")
    assert s.OTP_WEBAUTHN_ALLOWED_ORIGINS == ["https://a.example.org:8443"] and s.OTP_WEBAUTHN_RP_ID == "a.example.org"
    s = load(
        **production,
        PORTAL_WEBAUTHN_ORIGINS="https://a.example.org,https://b.example.org",
        PORTAL_WEBAUTHN_RP_ID="example.org",
        PORTAL_PASSKEY_SIGN_IN="false",
    )
    assert s.OTP_WEBAUTHN_RP_ID == "example.org" and s.OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN is False


@pytest.mark.parametrize(
    "env, message",
    [
        ({"PORTAL_ALLOWED_HOSTS": "127.0.0.1,*"}, "PORTAL_WEBAUTHN_ORIGINS must be set"),
        ({"PORTAL_WEBAUTHN_ORIGINS": "http://portal.example.org"}, "is not an origin passkeys accept"),
        ({"PORTAL_WEBAUTHN_ORIGINS": "http://localhost:8000"}, "is not an origin passkeys accept"),
        ({"PORTAL_WEBAUTHN_ORIGINS": "https://portal.example.org/admin/"}, "is not an origin passkeys accept"),
        (
            {"PORTAL_WEBAUTHN_ORIGINS": "https://portal.example.org", "PORTAL_WEBAUTHN_RP_ID": "example.net"},
            "must be the host of every origin",
        ),
        ({"PORTAL_ALLOWED_HOSTS": "a.example.org", "PORTAL_WEBAUTHN_RP_ID": "b.example.org"}, "lies in"),
    ],
)
def test_passkey_relying_party_refusals_in_production(load, env, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        load(
            PORTAL_MODE="production",
            PORTAL_SECRET_KEY="k" * 40,
            **{"PORTAL_ALLOWED_HOSTS": "portal.example.org", **env},
        )
