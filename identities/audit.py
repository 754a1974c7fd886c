"""Who did what to which identity: the audit rows, written with the actor passed from views and commands, and read
back as sentences (:func:`in_words`)."""

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


def _listed(items: Iterable[str]) -> str:
    return ", ".join(items) or "none"


def _value(value: Any) -> str:
    if isinstance(value, list):
        return _listed(map(str, value))
    return "nothing" if value in (None, "") else str(value)


def in_words(entry: AuditEntry) -> str:
    """The entry as a sentence without its actor and time: "added user ada with scopes acme-*-*", "removed scope
    acme-a-b from user ada", "changed user ada: email bob@x -> ada@x". Never a key or a hash (none is stored)."""
    name = f"{entry.identity_kind} {entry.identifier}"
    before, after = entry.before or {}, entry.after or {}
    action = entry.action
    if action == AuditEntry.Action.ADD:
        scopes = after.get("scopes") or []
        return f"added {name}" + (f" with scope{'s' if len(scopes) != 1 else ''} {_listed(scopes)}" if scopes else "")
    if action == AuditEntry.Action.REMOVE:
        return f"removed {name}"
    if action == AuditEntry.Action.ROTATE_KEY:
        back = after.get("key") == "as in the backup"
        return f"set the key of {name} back to the backup's" if back else f"rotated the key of {name}"
    if action in (AuditEntry.Action.DISABLE, AuditEntry.Action.ENABLE):
        return f"{'disabled' if action == AuditEntry.Action.DISABLE else 'enabled'} {name}"
    parts = []
    if "scopes" in before or "scopes" in after:
        was, now = set(before.get("scopes") or []), set(after.get("scopes") or [])
        parts += [f"added scope {s}" for s in sorted(now - was)] + [f"removed scope {s}" for s in sorted(was - now)]
    for field in sorted((set(before) | set(after)) - {"scopes", "key"}):
        if before.get(field) != after.get(field):
            parts.append(f"{field.replace('_', ' ')} {_value(before.get(field))} -> {_value(after.get(field))}")
    if not parts:
        return f"{entry.get_action_display()} {name}"
    if len(parts) == 1 and parts[0].startswith(("added scope", "removed scope")):
        verb, _, scope = parts[0].partition(" scope ")
        return f"{verb} scope {scope} {'to' if verb == 'added' else 'from'} {name}"
    return f"changed {name}: " + "; ".join(parts)
