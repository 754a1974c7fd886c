"""Neo4j versions compared, and the upgrade path from the store's version to the newest the portal supports.

Pure: no target, no database. The registry's store upgrades that change the Neo4j version are *hops*, each
applying to the versions from its ``neo4j_from`` up to, not including, its ``neo4j_to`` (``"5"`` is every 5.x,
``"2025"`` every 2025.x). The path lists every hop in order with what it means for this store:

- ``applied``: recorded as applied on the target;
- ``next``: the store's version is on its range (the one to run now);
- ``later``: it follows the next one;
- ``not needed``: the store is past it already (installed at a later version, or upgraded by hand).

What the upgrade page and ``manage.py migrate-store`` show (``path``); the procedures use ``in_range`` for their
version precheck, so the page and the run never disagree.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

APPLIED, NEXT, LATER, NOT_NEEDED = "applied", "next", "later", "not needed"


def parse(version: str) -> tuple[int, ...]:
    """``"5.18.1"`` -> (5, 18, 1); ``"2025.12"`` -> (2025, 12); ValueError for anything else."""
    if not re.fullmatch(r"\d+(\.\d+)*", version.strip()):
        raise ValueError(f"not a Neo4j version: {version!r}")
    return tuple(int(part) for part in version.strip().split("."))


def in_range(version: str, lowest: str, below: str) -> bool:
    """``lowest`` <= ``version`` < ``below``, comparing as far as each bound goes (``5.26.12`` is on ``5.26``)."""
    v, lo, hi = parse(version), parse(lowest), parse(below)
    return v[: len(lo)] >= lo and v[: len(hi)] < hi


@dataclasses.dataclass(frozen=True)
class Hop:
    """One registered store upgrade that changes the Neo4j version."""

    name: str
    neo4j_from: str
    neo4j_to: str
    #: the release it moves to (``5.26.12``), or the line when that is not known
    release: str


@dataclasses.dataclass(frozen=True)
class PathStep:
    hop: Hop
    state: str


def path(current: str, hops: Iterable[Hop], applied: Iterable[str]) -> list[PathStep]:
    """Every hop with its state for a store at ``current`` (``applied``: names recorded as applied), in order."""
    done = set(applied)
    found, passed_next = [], False
    for hop in hops:
        if hop.name in done:
            state = APPLIED
        elif in_range(current, hop.neo4j_from, hop.neo4j_to):
            state, passed_next = NEXT, True
        elif passed_next or parse(current)[: len(parse(hop.neo4j_from))] < parse(hop.neo4j_from):
            state = LATER
        else:
            state = NOT_NEEDED
        found.append(PathStep(hop, state))
    return found


def newest(hops: Iterable[Hop]) -> str:
    """The release at the end of the path (empty when there is no hop)."""
    last = list(hops)
    return last[-1].release if last else ""
