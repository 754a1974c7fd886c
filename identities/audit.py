"""Who did what to which identity: the actor passed from views and commands, and the audit rows."""

from __future__ import annotations

import getpass
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .models import AuditEntry
from .nodes import IdentityKind


@dataclass(frozen=True)
class Actor:
    kind: str  # AuditEntry.ActorKind
    name: str

    @classmethod
    def staff(cls, user) -> Actor:
        return cls(AuditEntry.ActorKind.STAFF, user.get_username())

    @classmethod
    def command_line(cls) -> Actor:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = "unknown"
        return cls(AuditEntry.ActorKind.CLI, name)


def record(
    actor: Actor,
    action: str,
    kind: IdentityKind,
    identifier: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str = "",
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor_kind=actor.kind,
        actor=actor.name,
        action=action,
        identity_kind=kind.name,
        identifier=identifier,
        before=before,
        after=after,
        note=note,
    )


def record_many(
    actor: Actor,
    action: str,
    kind: IdentityKind,
    changes: Iterable[tuple[str, dict[str, Any] | None, dict[str, Any] | None]],
    note: str = "",
) -> None:
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                actor_kind=actor.kind,
                actor=actor.name,
                action=action,
                identity_kind=kind.name,
                identifier=identifier,
                before=before,
                after=after,
                note=note,
            )
            for identifier, before, after in changes
        ],
        batch_size=500,
    )
