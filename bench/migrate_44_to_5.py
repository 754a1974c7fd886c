#!/usr/bin/env python3
"""How long the Neo4j 4.4 to 5 migration of the committed fixture takes, step by step.

    PORTAL_TEST_SLOT=N python3 scripts/services.py up --profile test   # for REDIS_URL etc.
    set -a; . .run/test-N/services.env; set +a
    .venv/bin/python bench/migrate_44_to_5.py              # to PORTAL_NEO4J_MIGRATION_VERSION (default 5.18.1)

Runs the real procedure in this process on a throw-away Neo4j 4.4 (beside the slot's test Neo4j) and a throw-away
SQLite database; prints one line per step and the total. Figures, not assertions.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.store_upgrade_run import portal_env, portal_for, run_upgrade  # noqa: E402


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="bench-migrate-"))
    portal_env(work)
    # Imported once the environment above is set: the settings read it.
    from tests.neo4j44 import LocalStore44

    store = LocalStore44(work)
    portal_for(store, work)
    t0 = time.monotonic()
    store.create()
    print(f"4.4 store from the fixture (init, load, start): {time.monotonic() - t0:6.1f} s")
    try:
        run_upgrade("neo4j-4.4-to-5")
    finally:
        store.remove()
    return 0


if __name__ == "__main__":
    sys.exit(main())
