"""What a store holds, in a form that survives a dump, a load and a store-format migration, and can be compared.

Internal node ids may change across a load, so nodes are identified by what alchemiscale identifies them by
(``_scoped_key`` for gufe objects, ``identifier`` for identities and compute registrations). The snapshot keeps:
node and relationship counts, counts per label and per relationship type, and the labels and every property of a
sample of nodes (the first N by that key), with values in a JSON form that is identical whichever Neo4j produced it.
"""

from __future__ import annotations

from typing import Any

from ..targets import Target

SAMPLE_SIZE = 200

LABEL_COUNTS = "MATCH (n) UNWIND labels(n) AS label RETURN label, count(*) ORDER BY label"
TYPE_COUNTS = "MATCH ()-[r]->() RETURN type(r), count(*) ORDER BY type(r)"
# Ordered by the keys alchemiscale itself treats as unique, so the same nodes are sampled before and after.
SAMPLE = (
    "MATCH (n) WITH n, coalesce(n._scoped_key, n.identifier) AS key WHERE key IS NOT NULL "
    "RETURN key, labels(n), properties(n) ORDER BY key LIMIT $limit"
)


def plain(value: Any) -> Any:
    """A JSON value for a Neo4j property value (temporal values as their ISO text)."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in sorted(value.items())}
    if hasattr(value, "iso_format"):
        return {"temporal": type(value).__name__, "iso": value.iso_format()}
    if isinstance(value, (bytes, bytearray)):
        return {"bytes": bytes(value).hex()}
    return value


def take(target: Target, sample_size: int = SAMPLE_SIZE) -> dict[str, Any]:
    """Snapshot the target's database; Neo4j must be up."""
    nodes, relationships = target.counts()
    return {
        "nodes": nodes,
        "relationships": relationships,
        "labels": {row[0]: row[1] for row in target.query(LABEL_COUNTS)},
        "types": {row[0]: row[1] for row in target.query(TYPE_COUNTS)},
        "sample": [
            {"key": key, "labels": sorted(labels), "properties": plain(props)}
            for key, labels, props in target.query(SAMPLE, {"limit": sample_size})
        ],
    }


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What differs between two snapshots, in words; empty when they agree."""
    found = []
    for field in ("nodes", "relationships"):
        if before[field] != after[field]:
            found.append(f"{field}: {before[field]} before, {after[field]} after")
    for field, what in (("labels", "nodes labelled"), ("types", "relationships of type")):
        for name in sorted(set(before[field]) | set(after[field])):
            a, b = before[field].get(name, 0), after[field].get(name, 0)
            if a != b:
                found.append(f"{what} {name}: {a} before, {b} after")
    after_sample = {item["key"]: item for item in after["sample"]}
    for item in before["sample"]:
        other = after_sample.get(item["key"])
        if other is None:
            found.append(f"node {item['key']} is missing")
        elif other != item:
            changed = sorted(
                k
                for k in set(item["properties"]) | set(other["properties"])
                if item["properties"].get(k) != other["properties"].get(k)
            )
            found.append(
                f"node {item['key']} differs: labels {item['labels']} -> {other['labels']}; "
                f"properties {', '.join(changed) or 'none'}"
            )
    return found
