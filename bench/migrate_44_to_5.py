#!/usr/bin/env python3
"""How long the Neo4j 4.4 to 5 migration of the committed fixture takes, step by step.

    PORTAL_TEST_SLOT=N python3 scripts/services.py up --profile test   # for REDIS_URL etc.
    set -a; . .run/test-N/services.env; set +a
    .venv/bin/python bench/migrate_44_to_5.py              # to PORTAL_NEO4J_MIGRATION_VERSION (default 5.18.1)

Runs the real procedure in this process on a throw-away Neo4j 4.4 (beside the slot's test Neo4j) and a throw-away
SQLite database; prints one line per step and the total. Figures, not assertions.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="bench-migrate-"))
    os.environ["PORTAL_DATA_DIR"] = str(work)
    os.environ["DATABASE_URL"] = f"sqlite:///{work / 'portal.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alchemiscale_portal.settings")
    from devtools.local_neo4j import portal_settings
    from tests.neo4j44 import LocalStore44

    store = LocalStore44(work)
    t0 = time.monotonic()
    store.create()
    print(f"4.4 store from the fixture (init, load, start): {time.monotonic() - t0:6.1f} s")
    os.environ.update(
        {
            "NEO4J_URL": store.url,
            "NEO4J_USER": "neo4j",
            "NEO4J_PASS": store.password,
            **portal_settings(store.instance.home),
            "PORTAL_BACKUP_DIR": str(work / "backups"),
        }
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from operations.runs.engine import execute
    from operations.upgrades import services

    try:
        t0 = time.monotonic()
        name = "neo4j-4.4-to-5"
        run = execute(services.request_migration(name, confirmation=name, user=None, label="bench").pk)
        total = time.monotonic() - t0
        for step in run.steps.all():
            took = (step.finished_at - step.started_at).total_seconds() if step.finished_at and step.started_at else 0
            print(f"  {step.position:>2}. {step.name:<38} {step.status:<8} {took:6.1f} s")
        print(f"migration {run.status}: {total:.1f} s in all")
    finally:
        store.remove()
    return 0


if __name__ == "__main__":
    sys.exit(main())
