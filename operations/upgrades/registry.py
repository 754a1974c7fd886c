"""The store migrations the portal knows, in the order an upgrade applies them.

Each names what it needs (Neo4j and alchemiscale versions before and after) and the procedure that carries it out;
the procedure holds its prechecks and steps. ``overview()`` is what the upgrade page and ``migrate-store --list``
show: for each migration whether it is applied, whether it applies to the store as it is now, and why not.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from operations.checks import Check
from operations.runs import worker_calls
from operations.runs.contract import OperationFailed
from operations.runs.requests import plan, queue_for

from ..targets import Target, get_target
from . import records, versions
from .alchemiscale_schema import AlchemiscaleV03ToV04Procedure
from .base import MigrationProcedure
from .neo4j_data import Neo4j44To5Procedure
from .neo4j_forward import Neo4j5To526Procedure, Neo4j526To2025Procedure


@dataclasses.dataclass(frozen=True)
class Migration:
    name: str
    title: str
    procedure: type[MigrationProcedure]
    neo4j_from: str
    neo4j_to: str
    alchemiscale_from: str
    alchemiscale_to: str
    guide: str

    def make(self, target: Target, params: dict[str, Any] | None = None) -> MigrationProcedure:
        return self.procedure(target, params or {})


MIGRATIONS: list[Migration] = [
    Migration(
        Neo4j44To5Procedure.migration_name,
        Neo4j44To5Procedure.title,
        Neo4j44To5Procedure,
        neo4j_from="4.4",
        neo4j_to="5",
        alchemiscale_from="0.3",
        alchemiscale_to="0.4",
        guide="Migrate data from neo4j 4.4 to 5.x (the release PORTAL_NEO4J_MIGRATION_VERSION names; the guide's is "
        "5.18): alchemiscale v0.4 is the first release on Neo4j 5",
    ),
    Migration(
        AlchemiscaleV03ToV04Procedure.migration_name,
        AlchemiscaleV03ToV04Procedure.title,
        AlchemiscaleV03ToV04Procedure,
        neo4j_from="5",
        neo4j_to="5",
        alchemiscale_from="0.3",
        alchemiscale_to="0.4",
        guide="Migrate schema from alchemiscale 0.3 to 0.4: a NetworkMark for each AlchemicalNetwork",
    ),
]

# Neo4j forward (neo4j_forward.py): every upgrade from before 5.26 passes through 5.26 LTS, then 2025.x.
MIGRATIONS += [
    Migration(
        Neo4j5To526Procedure.migration_name,
        Neo4j5To526Procedure.title,
        Neo4j5To526Procedure,
        neo4j_from="5",
        neo4j_to="5.26",
        alchemiscale_from="0.4+",
        alchemiscale_to="0.4+",
        guide="Neo4j's maintainers: every upgrade from a release before 5.26 passes through 5.26 LTS (the release "
        "PORTAL_NEO4J_LTS_VERSION names); in place, the old data directory kept",
    ),
    Migration(
        Neo4j526To2025Procedure.migration_name,
        Neo4j526To2025Procedure.title,
        Neo4j526To2025Procedure,
        neo4j_from="5.26",
        neo4j_to="2025",
        alchemiscale_from="0.4+",
        alchemiscale_to="0.4+",
        guide="From 5.26 LTS to the 2025.x release PORTAL_NEO4J_2025_VERSION names; it needs Java 21 or newer",
    ),
]

BY_NAME = {m.name: m for m in MIGRATIONS}
BY_KIND = {m.procedure.kind: m for m in MIGRATIONS}


class UnknownMigration(KeyError):
    pass


def get(name: str) -> Migration:
    try:
        return BY_NAME[name]
    except KeyError:
        raise UnknownMigration(f"no migration called {name!r}; known: {', '.join(BY_NAME)}") from None


@dataclasses.dataclass
class MigrationStatus:
    migration: Migration
    applied: Any  # AppliedMigration | None
    applies: bool
    reason: str
    prechecks: list[Check]
    steps: list[dict[str, Any]]

    @property
    def ready(self) -> bool:
        return self.applies and all(c.ok for c in self.prechecks)


def status(migration: Migration, target: Target) -> MigrationStatus:
    if worker_calls.via_worker():  # version checks and prechecks need the target: its worker answers
        done = records.applied(migration.name, target.name)
        payload = {"name": migration.name, "target": target.name}
        try:
            found = worker_calls.call(target.name, queue_for(target.name), "migration_status", payload)
        except OperationFailed as exc:
            return MigrationStatus(migration, done, False, str(exc), [], [])
        checks = [Check(name, ok, detail) for name, ok, detail in found["prechecks"]]
        return MigrationStatus(migration, done, found["applies"], found["reason"], checks, found["steps"])
    procedure = migration.make(target)
    done = records.applied(migration.name, target.name)
    version_problems = procedure.check_versions()
    if done is not None:
        applies, reason = False, f"applied {done.at:%Y-%m-%d %H:%M} UTC by {done.by_label}"
    elif version_problems:
        applies, reason = False, "; ".join(version_problems)
    else:
        applies, reason = True, f"applies to {target.describe()}"
    checks = procedure.prechecks() if applies else []
    return MigrationStatus(migration, done, applies, reason, checks, plan(procedure))


def overview(target: Target) -> list[MigrationStatus]:
    return [status(m, target) for m in MIGRATIONS]


@worker_calls.answers("migration_status")
def _status_on_worker(payload: dict[str, Any]) -> dict[str, Any]:
    found = status(get(payload["name"]), get_target(payload["target"]))
    return {
        "applies": found.applies,
        "reason": found.reason,
        "prechecks": [[c.name, c.ok, c.detail] for c in found.prechecks],
        "steps": found.steps,
    }


def hops() -> list[versions.Hop]:
    """The registered migrations that change the Neo4j version, in order (``versions.py``)."""
    return [
        versions.Hop(m.name, m.neo4j_from, m.neo4j_to, m.procedure.target_release() or m.neo4j_to)
        for m in MIGRATIONS
        if m.neo4j_from != m.neo4j_to
    ]


def upgrade_path(target: Target, current: str) -> list[versions.PathStep]:
    """The Neo4j upgrade path for ``target`` at version ``current`` (empty when the version is not known)."""
    try:
        versions.parse(current)
    except ValueError:
        return []
    done = [h.name for h in hops() if records.applied(h.name, target.name) is not None]
    return versions.path(current, hops(), done)
