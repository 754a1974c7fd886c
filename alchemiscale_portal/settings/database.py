"""The portal's own database (audit log, operation runs, backups catalogue): SQLite in the data directory unless
DATABASE_URL names another."""

from __future__ import annotations

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from ..env import env_str
from .base import DATA_DIR

_default_db = f"sqlite:///{DATA_DIR / 'portal.sqlite3'}"
try:
    DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL", _default_db), conn_max_age=60)}
except ValueError as _exc:  # private: __init__.py star-imports every public name
    raise ImproperlyConfigured(f"DATABASE_URL is not a usable database URL: {_exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the Celery worker share the file: wait for locks instead of failing at once. WAL: readers
    # (pages, the 503 page during an outage) never hold up a run's writes, nor a write them (docs/runs.md).
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL;",
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["TEST"] = {"NAME": env_str("PORTAL_TEST_SQLITE", str(DATA_DIR / "test-portal.sqlite3"))}
# The program that copies a PostgreSQL portal database with every backup (docs/portal-database-backup.md).
PG_DUMP = env_str("PORTAL_PG_DUMP", "pg_dump")
