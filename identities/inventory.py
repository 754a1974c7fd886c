"""Which scopes exist: granted to identities, and present in alchemiscale's data (``_org/_campaign/_project``).

Reading the data scopes scans every node, so the change form's scope descriptions use a short-lived cached copy;
the scopes page reads fresh.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.cache import cache

from . import store
from .nodes import KINDS
from .scope import InvalidScope, Scope

CACHE_SECONDS = 60
_DATA_KEY = "identities:data-scopes"


def data_scopes(fresh: bool = False) -> dict[str, int]:
    """Scope string -> number of nodes carrying it."""
    found = None if fresh else cache.get(_DATA_KEY)
    if found is None:
        rows = store.cypher(
            "MATCH (n) WHERE n._org IS NOT NULL AND n._campaign IS NOT NULL "
            "AND n._project IS NOT NULL RETURN n._org, n._campaign, n._project, count(*)"
        )
        found = {f"{org}-{campaign}-{project}": count for org, campaign, project, count in rows}
        cache.set(_DATA_KEY, found, CACHE_SECONDS)
    return found


def covered_data_scopes(scope: Scope, data: dict[str, int]) -> list[str]:
    covered = []
    for text in data:
        try:
            if scope.covers(Scope.from_str(text)):
                covered.append(text)
        except InvalidScope:
            continue
    return sorted(covered)


@dataclass
class Grant:
    scope: str
    kind: str
    count: int
    sample: list[str]


@dataclass
class ScopeRow:
    scope: str
    valid: bool
    description: str
    granted: list[Grant] = field(default_factory=list)
    data_nodes: int = 0
    reached_via: list[Grant] = field(default_factory=list)
    covers: list[str] = field(default_factory=list)


SAMPLE = 20


def scope_report() -> list[ScopeRow]:
    """Every granted or present scope, and who can reach it through which granted scope (wildcards included)."""
    grants: list[Grant] = []
    for kind in KINDS.values():
        for scope, count, sample in store.cypher(
            f"MATCH (n:{kind.label}) UNWIND coalesce(n.scopes, []) AS s "
            "WITH s, n.identifier AS identifier ORDER BY identifier "
            "RETURN s, count(*), collect(identifier)[..$sample] ORDER BY s",
            {"sample": SAMPLE},
        ):
            grants.append(Grant(scope, kind.name, count, sample))
    data = data_scopes(fresh=True)
    parsed: dict[str, Scope | None] = {}
    for text in {g.scope for g in grants} | set(data):
        try:
            parsed[text] = Scope.from_str(text)
        except InvalidScope:
            parsed[text] = None
    rows = []
    for text in sorted(parsed, key=lambda t: (parsed[t] is None, t)):
        scope = parsed[text]
        row = ScopeRow(
            text,
            scope is not None,
            scope.describe() if scope else "not a valid scope",
            granted=[g for g in grants if g.scope == text],
            data_nodes=data.get(text, 0),
        )
        if scope is not None:
            row.reached_via = [g for g in grants if (p := parsed.get(g.scope)) is not None and p.covers(scope)]
            if scope.is_wildcard:
                row.covers = covered_data_scopes(scope, data)
        rows.append(row)
    return rows
