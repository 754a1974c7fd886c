"""Helpers for the identity tests: read nodes straight from Neo4j, and write them the way alchemiscale does."""

from __future__ import annotations

from typing import Any

import bcrypt

from identities import store
from identities.nodes import KINDS


def stored(kind: str, identifier: str) -> tuple[set[str], dict[str, Any]] | None:
    """Labels and properties of one identity node, read with plain Cypher."""
    rows = store.cypher(
        "MATCH (n:CredentialedEntity) WHERE n.identifier = $identifier AND $label IN labels(n) "
        "RETURN labels(n), properties(n)",
        {"identifier": identifier, "label": KINDS[kind].label},
    )
    assert len(rows) <= 1
    return (set(rows[0][0]), rows[0][1]) if rows else None


def alchemiscale_verifies(key: str, hashed_key: str) -> bool:
    """alchemiscale's own check (docs/facts.md)."""
    return bcrypt.checkpw(key.encode()[:72], hashed_key.encode())


def alchemiscale_add(kind: str, identifier: str, key: str, scopes: list[str] = (), **extra: Any) -> None:
    """Create an identity exactly the way alchemiscale's CLI does (MERGE ... SET n += $props)."""
    label = KINDS[kind].label
    props = {
        "identifier": identifier,
        "hashed_key": bcrypt.hashpw(key.encode()[:72], bcrypt.gensalt(12)).decode(),
        "scopes": list(scopes),
        "disabled": False,
        **{k: v for k, v in extra.items() if v is not None},
    }
    store.cypher(
        f"MERGE (n:{label} {{identifier: $identifier}}) SET n += $props SET n:CredentialedEntity:{label}",
        {"identifier": identifier, "props": props},
    )


def graph_fingerprint() -> list:
    """Every node's labels and properties, to show a failed or hostile request changed nothing."""
    rows = store.cypher("MATCH (n) RETURN labels(n), properties(n)")
    return sorted((sorted(labels), sorted((k, repr(v)) for k, v in props.items())) for labels, props in rows)


def seed_plain(kind: str, rows: list[dict[str, Any]]) -> None:
    """Many identity nodes in one statement (a throwaway hash: these tests do not log in with them)."""
    label = KINDS[kind].label
    store.cypher(
        f"UNWIND $rows AS row CREATE (n:CredentialedEntity:{label}) SET n = row",
        {"rows": [{"hashed_key": "$2b$12$" + "x" * 53, "scopes": [], "disabled": False, **row} for row in rows]},
    )
