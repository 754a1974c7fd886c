#!/usr/bin/env python3
"""Make ``tests/fixtures/neo4j-4.4-alchemiscale-v03.dump``: a real Neo4j 4.4 dump of an alchemiscale v0.3 store.

    .venv/bin/python scripts/make_neo4j44_fixture.py [--out FILE]

Starts a throw-away Neo4j 4.4 (Maven Central jars, Java 11 from Debian bullseye: ``operations/java11.py``) on
127.0.0.1, creates alchemiscale's four uniqueness constraints with 4.4's syntax and a small graph shaped like
alchemiscale's (identities with bcrypt-hashed keys and scopes, scoped AlchemicalNetworks with their
transformations, chemical systems, task hubs and tasks, a compute service registration), stops it and dumps the
database with 4.4's own ``neo4j-admin dump --database=neo4j --to=FILE``.

Two of the five networks already have their NetworkMark (as after alchemiscale 0.4 created them), three do not:
the v0.3-to-v0.4 schema migration must add exactly three. The tests use the committed dump; re-run this script
only when the fixture's contents have to change (bcrypt salts make each run's bytes differ).
"""

from __future__ import annotations

import argparse
import datetime
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bcrypt  # noqa: E402
from neo4j import GraphDatabase  # noqa: E402

from devtools.alchemiscale_standin import network_mark_properties  # noqa: E402
from operations.local_neo4j import NEO4J_44_VERSION, Neo4jInstance  # noqa: E402

DEFAULT_OUT = ROOT / "tests" / "fixtures" / "neo4j-4.4-alchemiscale-v03.dump"

# alchemiscale's `database init` constraints (docs/facts.md), in Neo4j 4.4's ON ... ASSERT syntax.
CONSTRAINTS_44 = [
    "CREATE CONSTRAINT scoped_key IF NOT EXISTS ON (n:GufeTokenizable) ASSERT n._scoped_key IS UNIQUE",
    "CREATE CONSTRAINT user_identifier IF NOT EXISTS ON (n:CredentialedUserIdentity) ASSERT n.identifier IS UNIQUE",
    "CREATE CONSTRAINT compute_identifier IF NOT EXISTS ON (n:CredentialedComputeIdentity) "
    "ASSERT n.identifier IS UNIQUE",
    "CREATE CONSTRAINT compute_service_registration_identifier IF NOT EXISTS ON (n:ComputeServiceRegistration) "
    "ASSERT n.identifier IS UNIQUE",
]

# (org, campaign, project, network name, has a NetworkMark already)
NETWORKS = [
    ("openff", "benchmarks", "tyk2", "tyk2-relative", True),
    ("openff", "benchmarks", "cdk2", "cdk2-relative", False),
    ("openff", "industry", "jnk1", "jnk1-absolute", False),
    ("asap", "discovery", "mpro", "mpro-round1", True),
    ("asap", "discovery", "mpro", "mpro-round2", False),
]

IDENTITIES = [
    # label, identifier, scopes, extra properties
    ("CredentialedUserIdentity", "alice", ["openff-*-*"], {"email": "alice@example.org", "full_name": "Alice A."}),
    (
        "CredentialedUserIdentity",
        "bob",
        ["openff-benchmarks-tyk2", "asap-discovery-mpro"],
        {"email": "bob@example.org"},
    ),
    ("CredentialedUserIdentity", "carol", [], {"disabled": True}),
    ("CredentialedComputeIdentity", "compute-01", ["*-*-*"], {"email": "ops@example.org"}),
    (
        "CredentialedComputeIdentity",
        "compute-02",
        ["asap-*-*"],
        {"expires": datetime.datetime(2027, 6, 30, 12, 0, tzinfo=datetime.UTC)},
    ),
]


def _gufe(kind: str, token: str, org: str, campaign: str, project: str, **props) -> dict:
    gufe_key = f"{kind}-{token}"
    return {
        "__qualname__": kind,
        "__module__": "gufe",
        ":version:": 1,
        "_json_props": [],
        "_gufe_key": gufe_key,
        "_scoped_key": f"{gufe_key}-{org}-{campaign}-{project}",
        "_org": org,
        "_campaign": campaign,
        "_project": project,
        **props,
    }


def populate(driver) -> None:
    with driver.session(database="neo4j") as s:
        for statement in CONSTRAINTS_44:
            s.run(statement).consume()
        for label, identifier, scopes, extra in IDENTITIES:
            hashed = bcrypt.hashpw(secrets.token_hex(32).encode()[:72], bcrypt.gensalt(12, prefix=b"2b")).decode()
            s.run(
                f"MERGE (n:{label} {{identifier: $identifier}}) SET n += $props SET n:CredentialedEntity",
                identifier=identifier,
                props={"hashed_key": hashed, "scopes": scopes, **extra},
            ).consume()
        for n, (org, campaign, project, name, marked) in enumerate(NETWORKS):
            scope = (org, campaign, project)
            network = _gufe("AlchemicalNetwork", f"{n:02d}" + "a" * 30, *scope, name=name)
            systems = [
                _gufe(
                    "ChemicalSystem",
                    f"{n:02d}{i}" + "c" * 29,
                    *scope,
                    name=f"{name}-system-{i}",
                    components='{"ligand": "..."}',
                )
                for i in range(2)
            ]
            systems[0]["_json_props"] = ["components"]
            transformation = _gufe(
                "Transformation",
                f"{n:02d}" + "b" * 30,
                *scope,
                name=f"{name}-edge",
                mapping=None if n % 2 else "atom-map",
                weights=[0.5, 1.5 + n],
            )
            transformation = {k: v for k, v in transformation.items() if v is not None}
            hub = _gufe("TaskHub", f"{n:02d}" + "d" * 30, *scope, network=network["_scoped_key"], weight=0.5)
            tasks = [
                _gufe(
                    "Task",
                    f"{n:02d}{i}" + "e" * 29,
                    *scope,
                    status=["waiting", "complete", "error"][i],
                    priority=10 + i,
                    creator="alice",
                )
                for i in range(3)
            ]
            s.run(
                """
                CREATE (an:GufeTokenizable:AlchemicalNetwork) SET an = $network
                CREATE (tf:GufeTokenizable:Transformation) SET tf = $transformation
                CREATE (an)-[:DEPENDS_ON {attribute: 'edges', index: 0, _org: $org, _campaign: $campaign,
                                          _project: $project}]->(tf)
                WITH an, tf
                UNWIND range(0, size($systems) - 1) AS i
                CREATE (cs:GufeTokenizable:ChemicalSystem) SET cs = $systems[i]
                CREATE (an)-[:DEPENDS_ON {attribute: 'nodes', index: i, _org: $org, _campaign: $campaign,
                                          _project: $project}]->(cs)
                CREATE (tf)-[:DEPENDS_ON {attribute: CASE i WHEN 0 THEN 'stateA' ELSE 'stateB' END,
                                          _org: $org, _campaign: $campaign, _project: $project}]->(cs)
                WITH DISTINCT an, tf
                CREATE (th:GufeTokenizable:TaskHub) SET th = $hub
                CREATE (th)-[:PERFORMS {_org: $org, _campaign: $campaign, _project: $project}]->(an)
                WITH an, tf, th
                UNWIND $tasks AS task
                CREATE (t:GufeTokenizable:Task) SET t = task
                CREATE (t)-[:PERFORMS {_org: $org, _campaign: $campaign, _project: $project}]->(tf)
                CREATE (th)-[:ACTIONS {weight: 0.5, _org: $org, _campaign: $campaign, _project: $project}]->(t)
            """,
                network=network,
                transformation=transformation,
                systems=systems,
                hub=hub,
                tasks=tasks,
                org=org,
                campaign=campaign,
                project=project,
            ).consume()
            if marked:
                mark = network_mark_properties(network["_scoped_key"], *scope)
                s.run(
                    """
                    MATCH (an:AlchemicalNetwork {_scoped_key: $network})
                    CREATE (nm:GufeTokenizable:NetworkMark) SET nm = $mark
                    CREATE (nm)-[:MARKS {_org: $org, _campaign: $campaign, _project: $project}]->(an)
                """,
                    network=network["_scoped_key"],
                    mark=mark,
                    org=org,
                    campaign=campaign,
                    project=project,
                ).consume()
        now = datetime.datetime(2024, 3, 1, 9, 30, tzinfo=datetime.UTC)
        s.run(
            "CREATE (r:ComputeServiceRegistration {identifier: $id, registered: $now, heartbeat: $now, "
            "failure_times: [], manager_name: 'manager-a'})",
            id="compute-01-service-0",
            now=now,
        ).consume()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    slot = int(os.environ.get("PORTAL_TEST_SLOT", "0") or 0)
    password = "p" + secrets.token_urlsafe(12)
    home = Path(tempfile.mkdtemp(prefix="neo4j44-fixture-"))
    # Beside the slot's test Neo4j (17687/17474 + 100 * slot), never on it.
    instance = Neo4jInstance(
        home=home, bolt_port=17688 + 100 * slot, http_port=17475 + 100 * slot, version=NEO4J_44_VERSION
    )
    try:
        instance.init(password)
        instance.start()
        with GraphDatabase.driver(f"bolt://127.0.0.1:{instance.bolt_port}", auth=("neo4j", password)) as driver:
            populate(driver)
            nodes = driver.execute_query("MATCH (n) RETURN count(n) AS c").records[0]["c"]
            rels = driver.execute_query("MATCH ()-[r]->() RETURN count(r) AS c").records[0]["c"]
        instance.stop()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.unlink(missing_ok=True)
        instance.admin(["dump", "--database=neo4j", f"--to={args.out}"], check=True)
        print(
            f"{args.out}: {args.out.stat().st_size} bytes, {nodes} nodes, {rels} relationships "
            f"(Neo4j {NEO4J_44_VERSION})"
        )
    finally:
        instance.stop()
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
