"""Who did what to which identity: the audit rows, written with the actor passed from views and commands."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from security.actors import Actor

from .models import AuditEntry
from .nodes import IdentityKind


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
