"""Which scopes exist: granted to identities, and present in alchemiscale's data (``_org/_campaign/_project``).

Reading the data scopes scans every node, so the change form's scope descriptions and the dashboard use a copy kept
for a minute in Django's cache, which is Redis (``CACHES`` in the settings): one copy for the web server, the workers
and the commands. The portal's own writes that change which data scopes exist (a restore, a store migration: the
procedures marked ``changes_store``) drop it when their run ends (:func:`forget`), whichever process ran them, so
no process goes on showing the store as it was. Identity writes do not touch data scopes. The scopes page reads
fresh.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.cache import cache

from . import store
from .nodes import KINDS
from .scope import WILDCARD, InvalidScope, Scope

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


def forget() -> None:
    """Drop the cached data scopes, for every process (after a write that may have changed them)."""
    cache.delete(_DATA_KEY)


class DataIndex:
    """The data scopes by org and by org and campaign, so what a wildcard covers is looked up, not searched for."""

    def __init__(self, data: dict[str, int]):
        self.all: list[str] = []
        self.by_org: dict[str, list[str]] = {}
        self.by_campaign: dict[tuple[str, str], list[str]] = {}
        for text in sorted(data):
            try:
                scope = Scope.from_str(text)
            except InvalidScope:
                continue
            self.all.append(text)
            self.by_org.setdefault(scope.org, []).append(text)
            self.by_campaign.setdefault((scope.org, scope.campaign), []).append(text)

    def covered(self, scope: Scope) -> list[str]:
        """The same as covered_data_scopes(scope, data), sorted: wildcards only trail, so a scope covers exactly
        the data scopes that share its parts before the first wildcard."""
        if scope.org == WILDCARD:
            return list(self.all)
        if scope.campaign == WILDCARD:
            return list(self.by_org.get(scope.org, []))
        if scope.project == WILDCARD:
            return list(self.by_campaign.get((scope.org, scope.campaign), []))
        return [text for text in self.by_campaign.get((scope.org, scope.campaign), []) if text == str(scope)]


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


def _covering(scope: Scope) -> list[str]:
    """Every scope that covers this one: itself and the wildcards over its leading parts (wildcards only trail, so
    there are at most four; the order is irrelevant, the caller sorts)."""
    heads = [
        str(scope),
        f"{scope.org}-{scope.campaign}-{WILDCARD}",
        f"{scope.org}-{WILDCARD}-{WILDCARD}",
        f"{WILDCARD}-{WILDCARD}-{WILDCARD}",
    ]
    return list(dict.fromkeys(heads))


def scope_report() -> list[ScopeRow]:
    """Every granted or present scope, and who can reach it through which granted scope (wildcards included).

    Linear in the number of scopes: each row looks up its grants and the at most four scopes that can cover it,
    instead of testing every grant against every row (one identity with 20,000 scopes took minutes that way)."""
    grants: list[Grant] = []
    for kind in KINDS.values():
        for scope, count, sample in store.cypher(
            f"MATCH (n:{kind.label}) UNWIND coalesce(n.scopes, []) AS s "
            "WITH s, n.identifier AS identifier ORDER BY identifier "
            "RETURN s, count(*), collect(identifier)[..$sample] ORDER BY s",
            {"sample": SAMPLE},
        ):
            grants.append(Grant(scope, kind.name, count, sample))
    by_scope: dict[str, list[tuple[int, Grant]]] = {}
    for position, grant in enumerate(grants):
        by_scope.setdefault(grant.scope, []).append((position, grant))
    data = data_scopes(fresh=True)
    index = DataIndex(data)
    parsed: dict[str, Scope | None] = {}
    for text in set(by_scope) | set(data):
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
            granted=[grant for _, grant in by_scope.get(text, [])],
            data_nodes=data.get(text, 0),
        )
        if scope is not None:
            # In the order of the grants, as before: by kind, then by scope.
            via = sorted(entry for head in _covering(scope) for entry in by_scope.get(head, []))
            row.reached_via = [grant for _, grant in via]
            if scope.is_wildcard:
                row.covers = index.covered(scope)
        rows.append(row)
    return rows
