"""A real Neo4j 4.4 holding the committed alchemiscale v0.3 fixture dump, as the portal's local target.

Used by the store-migration tests; it runs beside the slot's test Neo4j (on its own ports and home) so the
migration can stop, replace and restart it without touching the rest of the suite's store.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import neo4j
import pytest

from operations.local_neo4j import NEO4J_44_VERSION, Neo4jInstance

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_44 = ROOT / "tests" / "fixtures" / "neo4j-4.4-alchemiscale-v03.dump"
SLOT = int(os.environ.get("PORTAL_TEST_SLOT", "0") or 0)
BOLT_PORT, HTTP_PORT = 17689 + 100 * SLOT, 17476 + 100 * SLOT


def query(url: str, password: str, cypher: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
    with neo4j.GraphDatabase.driver(url, auth=("neo4j", password)) as driver:
        records, _, _ = driver.execute_query(cypher, params or {}, database_="neo4j")
    return [list(r.values()) for r in records]


def everything(url: str, password: str) -> dict[str, Any]:
    """Every node (labels, properties) and relationship (ends, type, properties), keyed by alchemiscale's keys."""
    def plain(v: Any) -> Any:
        if isinstance(v, list):
            return [plain(x) for x in v]
        return v.iso_format() if hasattr(v, "iso_format") else v

    key = "coalesce(n._scoped_key, n.identifier)"
    nodes = query(url, password, f"MATCH (n) RETURN {key}, labels(n), properties(n)")
    rels = query(url, password, "MATCH (a)-[r]->(b) RETURN coalesce(a._scoped_key, a.identifier), type(r), "
                                "coalesce(b._scoped_key, b.identifier), properties(r)")
    return {
        "nodes": sorted((k, sorted(labels), sorted((p, plain(v)) for p, v in props.items()))
                        for k, labels, props in nodes),
        "relationships": sorted((a, t, b, sorted((p, plain(v)) for p, v in props.items()))
                                for a, t, b, props in rels),
        "constraints": sorted(r[0] for r in query(url, password, "SHOW CONSTRAINTS YIELD name RETURN name")),
    }


class Store44:
    def __init__(self, home: Path):
        self.password = secrets.token_urlsafe(12)
        self.instance = Neo4jInstance(home=home, bolt_port=BOLT_PORT, http_port=HTTP_PORT, heap="384m",
                                      pagecache="64m", version=NEO4J_44_VERSION)
        self.url = f"bolt://127.0.0.1:{BOLT_PORT}"

    def create(self) -> None:
        self.instance.init(self.password)
        self.instance.admin(["load", f"--from={FIXTURE_44}", "--database=neo4j", "--force"], check=True)
        self.instance.start()

    def reload(self) -> Neo4jInstance:
        return Neo4jInstance.load(self.instance.home)

    def query(self, cypher: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
        return query(self.url, self.password, cypher, params)

    def everything(self) -> dict[str, Any]:
        return everything(self.url, self.password)


@pytest.fixture
def store44(tmp_path, settings):
    """The fixture dump loaded into a running Neo4j 4.4; the portal's settings point the local target at it."""
    store = Store44(tmp_path / "neo4j")
    store.create()
    settings.NEO4J_HOME = store.instance.home
    settings.NEO4J_URL = store.url
    settings.NEO4J_USER = "neo4j"
    settings.NEO4J_PASS = store.password
    settings.BACKUP_DIR = tmp_path / "backups"
    # Runs are carried out in the test's process: the suite's shared worker has the other store's settings.
    settings.OPERATIONS_QUEUE = f"nobody-{os.getpid()}"
    yield store
    store.reload().stop()
