"""The alchemiscale state store as seen by the portal: parameterised Cypher and a few facts about the server.

Every query the portal sends goes through ``cypher`` with parameters; nothing is pasted into query text.
"""

from __future__ import annotations

from typing import Any

from neomodel import db


def cypher(query: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
    rows, _ = db.cypher_query(query, params or {})
    return rows


def cypher_with_columns(query: str, params: dict[str, Any] | None = None) -> tuple[list[list[Any]], list[str]]:
    """As :func:`cypher`, with the names of the returned columns."""
    rows, columns = db.cypher_query(query, params or {})
    return rows, list(columns or [])


def server_version() -> tuple[str, str]:
    """(version, edition) of the Neo4j server behind NEO4J_URL."""
    rows = cypher(
        "CALL dbms.components() YIELD name, versions, edition WHERE name = 'Neo4j Kernel' RETURN versions[0], edition"
    )
    return rows[0][0], rows[0][1]


def node_count() -> int:
    return cypher("MATCH (n) RETURN count(n)")[0][0]


def relationship_count() -> int:
    return cypher("MATCH ()-[r]->() RETURN count(r)")[0][0]


def constraint_names() -> list[str]:
    return sorted(row[0] for row in cypher("SHOW CONSTRAINTS YIELD name RETURN name"))


def index_names() -> list[str]:
    return sorted(row[0] for row in cypher("SHOW INDEXES YIELD name RETURN name"))
