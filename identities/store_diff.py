"""Which identities a whole-store change (a restore) brings back, removes or alters, and its audit rows.

A restore replaces every node at once, identities included, without going through ``identities.services``: without
this the audit log would say nothing of identities that came back with an old backup or disappeared with it, and
would contradict the store. The restore reads both stores with :data:`READ_IDENTITIES` (the live one over Bolt, the
staged one from its scratch server, before the swap), compares them with :func:`compare`, shows the result, and
once the restored store stands writes one audit row per identity changed (:func:`record_restore`).

Keys: the statement reads ``hashed_key`` only to tell whether it changes; :func:`compare` keeps no hash, and the
audit rows say "key as in the backup", never the hash.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from security.actors import Actor

from .audit import record_many
from .models import AuditEntry
from .nodes import KINDS

#: one row per identity: [kind, identifier, scopes, disabled, hashed key]; read-only, no parameters (it runs on the
#: staged store's scratch server, and on Docker through the HTTP API inside a container without network)
READ_IDENTITIES = (
    "MATCH (n:CredentialedEntity) WHERE n:CredentialedUserIdentity OR n:CredentialedComputeIdentity "
    "RETURN CASE WHEN n:CredentialedUserIdentity THEN 'user' ELSE 'compute' END, n.identifier, "
    "coalesce(n.scopes, []), coalesce(n.disabled, false), n.hashed_key ORDER BY n.identifier"
)

COMES_BACK, GOES, CHANGES = "comes back", "goes", "changes"


@dataclass(frozen=True)
class IdentityChange:
    kind: str
    identifier: str
    change: str  # COMES_BACK, GOES or CHANGES
    #: what differs, in words ("scopes", "disabled", "key"); empty unless CHANGES
    what: tuple[str, ...] = ()
    before: dict[str, Any] | None = field(default=None, compare=False)
    after: dict[str, Any] | None = field(default=None, compare=False)

    def words(self) -> str:
        name = f"{self.kind} {self.identifier}"
        if self.change == COMES_BACK:
            return f"{name} comes back (scopes {', '.join(self.after['scopes']) or 'none'})"  # type: ignore[index]
        if self.change == GOES:
            return f"{name} goes (it is not in the backup)"
        parts = []
        if "scopes" in self.what:
            assert self.before is not None and self.after is not None
            added = sorted(set(self.after["scopes"]) - set(self.before["scopes"]))
            removed = sorted(set(self.before["scopes"]) - set(self.after["scopes"]))
            parts += [f"scope {s} comes back" for s in added] + [f"scope {s} goes" for s in removed]
        if "disabled" in self.what:
            parts.append("disabled again" if self.after and self.after["disabled"] else "enabled again")
        if "key" in self.what:
            parts.append("its key is the backup's (the current key stops working)")
        return f"{name}: " + "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "identifier": self.identifier,
            "change": self.change,
            "what": list(self.what),
            "before": self.before,
            "after": self.after,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> IdentityChange:
        return cls(d["kind"], d["identifier"], d["change"], tuple(d["what"]), d["before"], d["after"])


def _shown(scopes: Iterable[str], disabled: bool) -> dict[str, Any]:
    return {"scopes": sorted(scopes), "disabled": bool(disabled)}


def compare(live: list[list[Any]], restored: list[list[Any]]) -> list[IdentityChange]:
    """What replacing the store whose identities are ``live`` with the one whose identities are ``restored`` (rows of
    :data:`READ_IDENTITIES`) does to each identity; unchanged ones are left out. Sorted by kind, then identifier."""
    now = {(r[0], r[1]): r for r in live}
    then = {(r[0], r[1]): r for r in restored}
    changes = []
    for key in sorted(now.keys() | then.keys()):
        kind, identifier = key
        a, b = now.get(key), then.get(key)
        if a is None:
            assert b is not None
            changes.append(IdentityChange(kind, identifier, COMES_BACK, after=_shown(b[2], b[3])))
        elif b is None:
            changes.append(IdentityChange(kind, identifier, GOES, before=_shown(a[2], a[3])))
        else:
            what = tuple(
                name
                for name, differs in (
                    ("scopes", sorted(a[2]) != sorted(b[2])),
                    ("disabled", bool(a[3]) != bool(b[3])),
                    ("key", a[4] != b[4]),
                )
                if differs
            )
            if what:
                changes.append(
                    IdentityChange(kind, identifier, CHANGES, what, before=_shown(a[2], a[3]), after=_shown(b[2], b[3]))
                )
    return changes


def _action(change: IdentityChange) -> str:
    if change.change == COMES_BACK:
        return AuditEntry.Action.ADD
    if change.change == GOES:
        return AuditEntry.Action.REMOVE
    if change.what == ("scopes",):
        return AuditEntry.Action.SET_SCOPES
    if change.what == ("key",):
        return AuditEntry.Action.ROTATE_KEY
    if change.what == ("disabled",):
        return AuditEntry.Action.DISABLE if change.after and change.after["disabled"] else AuditEntry.Action.ENABLE
    return AuditEntry.Action.CHANGE


def record_restore(actor: Actor, changes: list[IdentityChange], note: str) -> int:
    """One audit row per identity the restore changed, by ``actor`` (who asked for the restore); how many."""
    by_action: dict[tuple[str, str], list[tuple[str, dict | None, dict | None]]] = {}
    for change in changes:
        after = change.after
        if after is not None and "key" in change.what:
            after = {**after, "key": "as in the backup"}
        by_action.setdefault((_action(change), change.kind), []).append((change.identifier, change.before, after))
    for (action, kind), rows in by_action.items():
        record_many(actor, action, KINDS[kind], rows, note=note)
    return len(changes)
