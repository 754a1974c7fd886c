"""A read-only stand-in for a Django QuerySet over identity nodes, for the admin's changelist and actions.

The changelist asks a queryset to filter, search, order, count and slice. django-neomodel's NodeSet cannot take
Django's ``Q`` objects or ``order_by('-pk')`` (docs/facts.md), so this class answers exactly what the admin asks,
translates it into one parameterised Cypher statement per question, and refuses anything else with a FieldError
(the changelist turns that into its "invalid lookup" redirect instead of a server error).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from django.core.exceptions import FieldError
from django.db.models import Q

from identities import store
from identities.nodes import CredentialedEntity, IdentityKind

# Sortable columns -> node property (fixed names; the only ones that can reach query text).
ORDERABLE = {"identifier", "email", "full_name", "expires", "disabled"}
ALIASES = {"pk": "identifier"}


class _Query:
    """The two attributes of ``QuerySet.query`` the changelist reads."""

    select_related = False
    order_by: tuple = ()


@dataclass(frozen=True)
class Criteria:
    search: str = ""
    disabled: bool | None = None
    expired: bool | None = None
    org: str | None = None
    identifiers: tuple[str, ...] | None = None
    ordering: tuple[str, ...] = ("identifier",)
    nothing: bool = False


@dataclass
class NodeQuerySet:
    kind: IdentityKind
    criteria: Criteria = field(default_factory=Criteria)
    query: _Query = field(default_factory=_Query)

    def __post_init__(self) -> None:
        self.model = self.kind.model
        self._results: list[CredentialedEntity] | None = None
        self._count: dict[int | None, int] = {}
        self._window: tuple[int, int, list[CredentialedEntity]] | None = None

    # ---- the identity-specific questions ------------------------------------------------------------------
    def _with(self, **changes: Any) -> NodeQuerySet:
        return NodeQuerySet(self.kind, replace(self.criteria, **changes))

    def searching(self, term: str) -> NodeQuerySet:
        return self._with(search=term.strip().lower()) if term.strip() else self

    def with_disabled(self, value: bool) -> NodeQuerySet:
        return self._with(disabled=value)

    def with_expired(self, value: bool) -> NodeQuerySet:
        return self._with(expired=value)

    def with_org(self, org: str) -> NodeQuerySet:
        return self._with(org=org)

    def identifiers(self) -> list[str]:
        """Every matching identifier (what an action over "all N selected" works on)."""
        where, params = self._where()
        rows = store.cypher(f"MATCH (n:{self.kind.label}) {where} RETURN n.identifier ORDER BY n.identifier", params)
        return [row[0] for row in rows]

    def _where(self) -> tuple[str, dict[str, Any]]:
        # Every identity has an identifier; saying so lets Neo4j walk alchemiscale's identifier index in order
        # instead of sorting all nodes for ORDER BY n.identifier.
        c, clauses = self.criteria, ["n.identifier IS NOT NULL"]
        params: dict[str, Any] = {}
        if c.nothing:
            clauses.append("false")
        if c.identifiers is not None:
            clauses.append("n.identifier IN $identifiers")
            params["identifiers"] = list(c.identifiers)
        if c.search:
            clauses.append(
                "(toLower(n.identifier) CONTAINS $search OR toLower(coalesce(n.email, '')) CONTAINS $search"
                " OR toLower(coalesce(n.full_name, '')) CONTAINS $search)"
            )
            params["search"] = c.search
        if c.disabled is not None:
            clauses.append("coalesce(n.disabled, false) = $disabled")
            params["disabled"] = c.disabled
        if c.expired is not None:
            params["now"] = dt.datetime.now(dt.UTC)
            clauses.append(
                "(n.expires IS NOT NULL AND n.expires <= $now)"
                if c.expired
                else "(n.expires IS NULL OR n.expires > $now)"
            )
        if c.org is not None:
            clauses.append("any(s IN coalesce(n.scopes, []) WHERE s STARTS WITH $org_prefix)")
            params["org_prefix"] = c.org + "-"
        return "WHERE " + " AND ".join(clauses), params

    @property
    def filtered(self) -> bool:
        c = self.criteria
        return bool(
            c.nothing
            or c.identifiers is not None
            or c.search
            or c.org is not None
            or c.disabled is not None
            or c.expired is not None
        )

    def _order(self) -> str:
        parts = []
        for item in self.criteria.ordering:
            name = item.lstrip("-")
            parts.append(f"n.{name}{' DESC' if item.startswith('-') else ''}")
        return ", ".join(parts)

    # ---- the QuerySet API the admin uses --------------------------------------------------------------------
    def filter(self, *args: Any, **kwargs: Any) -> NodeQuerySet:
        for arg in args:
            if not (isinstance(arg, Q) and not arg.children):
                raise FieldError("identities can only be filtered by the list filters and the search box")
        if not kwargs:
            return self
        identifiers: list[str] = []
        for lookup, value in kwargs.items():
            if lookup in ("pk__in", "identifier__in"):
                identifiers.extend(str(v) for v in value)
            elif lookup in ("pk", "identifier", "pk__exact", "identifier__exact"):
                identifiers.append(str(value))
            else:
                raise FieldError(f"identities cannot be filtered by {lookup!r}")
        if self.criteria.identifiers is not None:
            identifiers = [i for i in identifiers if i in self.criteria.identifiers]
        return self._with(identifiers=tuple(dict.fromkeys(identifiers)))

    def all(self) -> NodeQuerySet:
        return self._with()

    def none(self) -> NodeQuerySet:
        return self._with(nothing=True)

    def order_by(self, *fields: Any) -> NodeQuerySet:
        ordering: list[str] = []
        for item in fields:
            if not isinstance(item, str):
                raise FieldError("identities can only be ordered by column names")
            desc, name = item.startswith("-"), ALIASES.get(item.lstrip("-"), item.lstrip("-"))
            if name not in ORDERABLE:
                raise FieldError(f"identities cannot be ordered by {name!r}")
            if name not in (o.lstrip("-") for o in ordering):
                ordering.append(("-" if desc else "") + name)
        if "identifier" not in (o.lstrip("-") for o in ordering):
            ordering.append("identifier")  # identifiers are unique: a total order for stable pages
        return self._with(ordering=tuple(ordering))

    def distinct(self, *fields: Any) -> NodeQuerySet:
        return self

    def select_related(self, *fields: Any) -> NodeQuerySet:
        return self

    def _clone(self) -> NodeQuerySet:
        clone = self._with()
        # The changelist re-reads a one-page result through a clone: hand over the page already fetched.
        if self._window is not None and self._window[0] == 0 and len(self._window[2]) < self._window[1]:
            clone._results = list(self._window[2])
        return clone

    def count(self, cap: int | None = None) -> int:
        """How many match; with ``cap``, stop counting there (the paginator's "cap+ results")."""
        if cap not in self._count:
            where, params = self._where()
            if not self.filtered:
                # Neo4j answers an unfiltered label count from its count store, without a scan.
                query = f"MATCH (n:{self.kind.label}) RETURN count(n)"
            elif cap is None:
                query = f"MATCH (n:{self.kind.label}) {where} RETURN count(n)"
            else:
                query = f"MATCH (n:{self.kind.label}) {where} WITH n LIMIT $cap RETURN count(n)"
                params["cap"] = cap
            self._count[cap] = store.cypher(query, params)[0][0]
        return self._count[cap]

    def count_with_window(self, skip: int, limit: int, cap: int) -> int:
        """Count (up to ``cap``) and fetch one page in a single scan, for filtered lists.

        A filtered count has to read every candidate node anyway; doing the page in the same statement halves the
        work. The page is kept for the slice the paginator asks for next.
        """
        if not self.filtered:
            return self.count(cap)
        if cap not in self._count:
            where, params = self._where()
            rows = store.cypher(
                f"MATCH (n:{self.kind.label}) {where} WITH n ORDER BY {self._order()} LIMIT $cap "
                "WITH collect(n) AS hits RETURN size(hits), hits[$skip..$end]",
                {**params, "cap": cap, "skip": skip, "end": skip + limit},
            )
            self._count[cap] = rows[0][0]
            self._window = (skip, skip + limit, [self.model.inflate(node) for node in rows[0][1]])
        return self._count[cap]

    def exists(self) -> bool:
        return bool(self[:1])

    def _fetch(self, skip: int, limit: int | None) -> list[CredentialedEntity]:
        where, params = self._where()
        query = f"MATCH (n:{self.kind.label}) {where} RETURN n ORDER BY {self._order()} SKIP $skip"
        params["skip"] = skip
        if limit is not None:
            query += " LIMIT $limit"
            params["limit"] = limit
        return [self.model.inflate(row[0]) for row in store.cypher(query, params)]

    def __getitem__(self, key: int | slice) -> Any:
        if isinstance(key, slice):
            if key.step not in (None, 1) or (key.start or 0) < 0 or (key.stop is not None and key.stop < 0):
                raise ValueError("only plain, non-negative slices are supported")
            start = key.start or 0
            if self._results is not None:
                return self._results[key]
            window = self._window
            if window is not None and window[0] == start and (key.stop is None or key.stop <= window[1]):
                return window[2][: None if key.stop is None else key.stop - start]
            limit = None if key.stop is None else max(key.stop - start, 0)
            return self._fetch(start, limit)
        return self[key : key + 1][0]

    def __iter__(self) -> Iterator[CredentialedEntity]:
        if self._results is None:
            self._results = self._fetch(0, None)
        return iter(self._results)

    def __len__(self) -> int:
        return len(list(iter(self)))

    def __bool__(self) -> bool:
        return self.exists()

    def get(self, **kwargs: Any) -> CredentialedEntity:
        found = self.filter(**kwargs)[:2]
        if len(found) != 1:
            raise self.model.DoesNotExist(f"{len(found)} {self.kind.name} identities match {kwargs}")
        return found[0]
