#!/usr/bin/env python3
"""How long a Neo4j forward upgrade takes on the local target, step by step: 5.18 to 5.26 LTS, or 5.26 to 2025.x.

    PORTAL_TEST_SLOT=N python3 scripts/services.py up --profile test   # for REDIS_URL etc.
    set -a; . .run/test-N/services.env; set +a
    .venv/bin/python bench/neo4j_forward.py [--from 5.18.1] [--nodes 30]
    JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 .venv/bin/python bench/neo4j_forward.py --from 5.26.12

Neo4j 2025.x needs Java 21 or newer: the dev tools run it with ``$JAVA_HOME/bin/java`` and the upgrade's Java
precheck reads the same variable (5.x keeps the ``java`` on the PATH). It runs the real procedure in this process
on a throw-away Neo4j of the starting version (an alchemiscale-shaped graph: four constraints, identities,
networks; ``--nodes`` of each) beside the slot's test Neo4j, with a throw-away SQLite database; prints one line per
step and the total. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.store_upgrade_run import portal_env, portal_for, run_upgrade  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="start", default="5.18.1", help="5.18.1 (to 5.26) or 5.26.12 (to 2025.x)")
    parser.add_argument("--nodes", type=int, default=30)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-forward-"))
    portal_env(work)
    # Imported once the environment above is set: the settings read it.
    from devtools.local_neo4j import NEO4J_VERSION, fetch
    from tests.neo4j44 import LocalStore44

    name = "neo4j-5.18-to-5.26" if args.start.startswith("5.18") else "neo4j-5.26-to-2025"
    store = LocalStore44(work)
    store.instance.version = args.start
    portal_for(store, work)
    from django.conf import settings  # set up by portal_for

    from tests.conftest import ALCHEMISCALE_CONSTRAINTS  # needs the apps ready

    fetch(settings.NEO4J_2025_VERSION if "2025" in name else NEO4J_VERSION)
    t0 = time.monotonic()
    store.instance.init(store.password)
    store.instance.start()
    for constraint, (label, prop) in ALCHEMISCALE_CONSTRAINTS.items():
        store.query(f"CREATE CONSTRAINT {constraint} IF NOT EXISTS FOR (n:{label}) REQUIRE n.{prop} IS UNIQUE")
    store.query(
        "UNWIND range(1, $n) AS i CREATE (:CredentialedEntity:CredentialedUserIdentity {identifier: 'u' + i})"
        "-[:OWNS]->(:GufeTokenizable:AlchemicalNetwork {_scoped_key: 'k' + i})",
        {"n": args.nodes},
    )
    print(f"Neo4j {args.start} store (init, start, {2 * args.nodes} nodes): {time.monotonic() - t0:6.1f} s")
    try:
        run = run_upgrade(name)
        if run.status == "succeeded":
            print(f"after: {store.query('MATCH (n) RETURN count(n)')[0][0]} nodes on Neo4j {store.version()}")
    finally:
        store.remove()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
