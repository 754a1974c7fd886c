"""Which procedure carries out a run of each kind, filled by the apps that own procedures.

The backups app registers backup, restore, verify, copy and prune; the upgrades app its store migrations; each in
its ``AppConfig.ready()``, so every process (web, worker, command) knows them all before it handles a run, and the
run machinery imports none of them.
"""

from __future__ import annotations

from .contract import OperationFailed, Procedure

#: kind -> procedure class (tests may add one with monkeypatch.setitem)
#: kind -> procedure class (a test may add one with monkeypatch.setitem)
PROCEDURES: dict[str, type[Procedure]] = {}


def register(*procedures: type[Procedure]) -> None:
    for procedure in procedures:
        known = PROCEDURES.get(procedure.kind)
        if known is not None and known is not procedure:
            raise ValueError(f"two procedures claim the kind {procedure.kind!r}: {known} and {procedure}")
        if not getattr(procedure, "permission", ""):
            raise ValueError(f"{procedure} names no permission")
        PROCEDURES[procedure.kind] = procedure


def get(kind: str) -> type[Procedure]:
    try:
        return PROCEDURES[kind]
    except KeyError:
        raise OperationFailed(f"no procedure is registered for runs of kind {kind!r}") from None


def find(kind: str) -> type[Procedure] | None:
    return PROCEDURES.get(kind)


def kinds() -> list[str]:
    return sorted(PROCEDURES)
