"""Every change to identities and scopes, for the web admin and the command line alike.

Each function validates all its input before writing anything and changes Neo4j in one parameterised statement.
Adding, removing, rotating, disabling and enabling go through ``identities.writes``: the intended change is committed
to the portal's database first, then Neo4j is written, then the audit entry and parked key are written with the
change marked done, so a failure in between loses nothing and ``identity reconcile`` can finish or abandon it
(docs/identity-writes.md). Scope and detail edits risk no key: their audit row shares a Django transaction with the
Neo4j write. Label names in query text come only from the constants in ``identities.nodes``; values are parameters.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import transaction
from neo4j.exceptions import ConstraintError

from . import audit, store, writes
from .audit import Actor
from .models import AuditEntry, IdentityWrite, ParkedKey
from .nodes import CredentialedEntity, IdentityKind
from .rules import (
    IdentityError,
    InvalidInput,
    check_scope_count,
    generate_key,
    hash_key,
    unusable_hash,
    validate_identifier,
    validate_key,
)
from .scope import parse_scopes
from .writes import ConcurrentChange  # noqa: F401  (raised by the writes below; callers catch it from here)

Action = AuditEntry.Action

TOKEN_NOTE = (
    "alchemiscale tokens already issued stay valid until they expire (1800 s, i.e. 30 minutes, by default): "
    "removed access takes full effect only then."
)
DISABLE_NOTE = (
    "alchemiscale ignores the 'disabled' property, so disabling also replaces the stored key hash with one that "
    "matches no key; the real hash is kept in the portal's database and restored on enable (the same key works again)."
)
FULL_NAME_MAX = 200
EMAIL_MAX = 254


class IdentityNotFound(IdentityError):
    pass


class DuplicateIdentity(IdentityError):
    pass


# ---- reading -------------------------------------------------------------------------------------------


def get_identity(kind: IdentityKind, identifier: str) -> CredentialedEntity | None:
    rows = store.cypher(
        f"MATCH (n:{kind.label} {{identifier: $identifier}}) RETURN n LIMIT 1", {"identifier": identifier}
    )
    return kind.model.inflate(rows[0][0]) if rows else None


def require_identity(kind: IdentityKind, identifier: str) -> CredentialedEntity:
    node = get_identity(kind, identifier)
    if node is None:
        raise IdentityNotFound(f"there is no {kind.name} identity {identifier!r}")
    return node


def list_identifiers(kind: IdentityKind) -> list[str]:
    return [row[0] for row in store.cypher(f"MATCH (n:{kind.label}) RETURN n.identifier ORDER BY n.identifier")]


def locked_identifiers(kind: IdentityKind, identifiers: list[str]) -> set[str]:
    """Which of these identities the portal has locked out (real hash parked)."""
    return set(
        ParkedKey.objects.filter(identity_kind=kind.name, identifier__in=identifiers).values_list(
            "identifier", flat=True
        )
    )


def public_view(props: dict[str, Any]) -> dict[str, Any]:
    """What the audit log may keep of a node's properties: never the key hash."""
    view: dict[str, Any] = {}
    for name in ("scopes", "disabled", "email", "full_name", "expires"):
        if props.get(name) is not None:
            value = props[name]
            if hasattr(value, "to_native"):
                value = value.to_native()
            if isinstance(value, dt.datetime):
                value = value.isoformat()
            view[name] = list(value) if name == "scopes" else value
    return view


# ---- validation of details ------------------------------------------------------------------------------


def clean_details(kind: IdentityKind, details: dict[str, Any]) -> dict[str, Any]:
    """Validate email / full_name / expires; '' and None both mean "absent"."""
    unknown = set(details) - set(kind.detail_fields)
    if unknown:
        raise InvalidInput(f"a {kind.name} identity has no {', '.join(sorted(unknown))}")
    cleaned: dict[str, Any] = {}
    for name, value in details.items():
        if value in ("", None):
            cleaned[name] = None
        elif name == "email":
            try:
                EmailValidator()(value)
            except ValidationError:
                raise InvalidInput(f"invalid email {value!r}: give an address like someone@example.org") from None
            if len(value) > EMAIL_MAX:
                raise InvalidInput(f"the email has more than {EMAIL_MAX} characters")
            cleaned[name] = value
        elif name == "full_name":
            if len(value) > FULL_NAME_MAX or any(unicodedata.category(ch).startswith("C") for ch in value):
                raise InvalidInput(
                    f"invalid full name {value!r}: at most {FULL_NAME_MAX} characters, "
                    "no newlines or other control characters"
                )
            cleaned[name] = value
        elif name == "expires":
            if not isinstance(value, dt.datetime) or value.tzinfo is None:
                raise InvalidInput("the expiry must be a date and time with a time zone")
            cleaned[name] = value
    return cleaned


def _dedupe(texts: list[str]) -> list[str]:
    return [str(scope) for scope in dict.fromkeys(parse_scopes(list(texts)))]


@contextmanager
def _audited(actor: Actor, action: str, kind: IdentityKind, identifier: str) -> Iterator[AuditEntry]:
    """The audit row and the Neo4j write commit together: if the write raises, the row is rolled back."""
    with transaction.atomic():
        entry = audit.record(actor, action, kind, identifier)
        yield entry
        entry.save(update_fields=["before", "after", "note"])


# ---- writing ---------------------------------------------------------------------------------------------


def add_identity(
    kind: IdentityKind, identifier: str, key: str | None, actor: Actor, *, scopes: Sequence[str] = (), **details: Any
) -> tuple[CredentialedEntity, str]:
    """Create an identity the way alchemiscale does; return it and its key (generated when ``key`` is None)."""
    validate_identifier(identifier)
    key = generate_key() if key is None else validate_key(key)
    scope_list = _dedupe(list(scopes))
    check_scope_count(identifier, len(scope_list))
    cleaned = clean_details(kind, details)
    props = {
        "identifier": identifier,
        "hashed_key": hash_key(key),
        "scopes": scope_list,
        "disabled": False,
        **{name: value for name, value in cleaned.items() if value is not None},
    }
    duplicate = DuplicateIdentity(f"a {kind.name} identity {identifier!r} already exists")
    if get_identity(kind, identifier) is not None:
        raise duplicate

    def create() -> list[list[Any]]:
        try:
            rows = store.cypher(
                f"OPTIONAL MATCH (e:{kind.label} {{identifier: $identifier}}) WITH e WHERE e IS NULL "
                f"CREATE (n:{kind.labels}) SET n = $props RETURN n",
                {"identifier": identifier, "props": props},
            )
        except ConstraintError:
            rows = []
        if not rows:
            raise duplicate
        return rows

    write = writes.begin(
        actor,
        Action.ADD,
        kind,
        identifier,
        before=None,
        after=writes.state(props["hashed_key"], False),
        audit_after=public_view(props),
    )
    rows = writes.carry_out(write, create)
    return (kind.model.inflate(rows[0][0]) if rows else require_identity(kind, identifier)), key


def remove_identity(kind: IdentityKind, identifier: str, actor: Actor) -> None:
    not_found = IdentityNotFound(f"there is no {kind.name} identity {identifier!r}")
    props = writes.node_properties(kind, identifier)
    if props is None:
        raise not_found

    def delete() -> None:
        rows = store.cypher(
            f"MATCH (n:{kind.label} {{identifier: $identifier}}) DETACH DELETE n RETURN count(*)",
            {"identifier": identifier},
        )
        if not rows or rows[0][0] == 0:
            raise not_found

    # The parked key of a disabled identity goes only once the node is gone (writes.finish).
    write = writes.begin(
        actor,
        Action.REMOVE,
        kind,
        identifier,
        before=writes.state(props.get("hashed_key"), props.get("disabled")),
        after=None,
        audit_before=public_view(props),
        note=TOKEN_NOTE,
    )
    writes.carry_out(write, delete)


def _change_scopes(
    kind: IdentityKind, identifier: str, actor: Actor, action: str, new_scopes: str, scopes: list[str]
) -> tuple[list[str], list[str]]:
    with _audited(actor, action, kind, identifier) as entry:
        # Written only within the cap (or when not adding to an identity already over it), checked in the same
        # statement that computes the new list, so a change made meanwhile elsewhere is counted too.
        rows = store.cypher(
            f"MATCH (n:{kind.label} {{identifier: $identifier}}) "
            f"WITH n, coalesce(n.scopes, []) AS before WITH n, before, {new_scopes} AS after "
            "FOREACH (_ IN CASE WHEN size(after) <= $max OR size(after) <= size(before) THEN [1] ELSE [] END | "
            "SET n.scopes = after) "
            "RETURN before, after",
            {"identifier": identifier, "scopes": scopes, "max": settings.MAX_SCOPES_PER_IDENTITY},
        )
        if not rows:
            raise IdentityNotFound(f"there is no {kind.name} identity {identifier!r}")
        before, after = list(rows[0][0]), list(rows[0][1])
        check_scope_count(identifier, len(after), len(before))  # raises: the audit row is rolled back
        entry.before, entry.after = {"scopes": before}, {"scopes": after}
        if set(after) < set(before):
            entry.note = TOKEN_NOTE
    return before, after


def add_scopes(kind: IdentityKind, identifier: str, scopes: list[str], actor: Actor) -> tuple[list[str], list[str]]:
    """Grant scopes (already granted ones are left alone); returns scopes before and after."""
    return _change_scopes(
        kind, identifier, actor, Action.ADD_SCOPE, "before + [s IN $scopes WHERE NOT s IN before]", _dedupe(scopes)
    )


def remove_scopes(kind: IdentityKind, identifier: str, scopes: list[str], actor: Actor) -> tuple[list[str], list[str]]:
    return _change_scopes(
        kind, identifier, actor, Action.REMOVE_SCOPE, "[s IN before WHERE NOT s IN $scopes]", _dedupe(scopes)
    )


def set_scopes(kind: IdentityKind, identifier: str, scopes: list[str], actor: Actor) -> tuple[list[str], list[str]]:
    return _change_scopes(kind, identifier, actor, Action.SET_SCOPES, "$scopes", _dedupe(scopes))


def _bulk_scope(
    kind: IdentityKind, identifiers: list[str], scope: str, actor: Actor, action: str, new_scopes: str
) -> int:
    (scope,) = _dedupe([scope])
    cap = settings.MAX_SCOPES_PER_IDENTITY
    params = {"identifiers": list(identifiers), "scope": scope, "max": cap}
    if action == Action.ADD_SCOPE:
        full = store.cypher(
            f"UNWIND $identifiers AS identifier MATCH (n:{kind.label} {{identifier: identifier}}) "
            "WHERE NOT $scope IN coalesce(n.scopes, []) AND size(coalesce(n.scopes, [])) >= $max "
            "RETURN n.identifier ORDER BY n.identifier LIMIT 11",
            params,
        )
        if full:
            names = ", ".join(row[0] for row in full[:10]) + (" and more" if len(full) > 10 else "")
            raise InvalidInput(
                f"nothing was changed: {names} already {'has' if len(full) == 1 else 'have'} {cap} scopes or more; "
                f"at most {cap} scopes per identity (PORTAL_MAX_SCOPES_PER_IDENTITY)"
            )
    with transaction.atomic():
        rows = store.cypher(
            f"UNWIND $identifiers AS identifier MATCH (n:{kind.label} {{identifier: identifier}}) "
            f"WITH n, coalesce(n.scopes, []) AS before SET n.scopes = {new_scopes} "
            "WITH n, before WHERE n.scopes <> before RETURN n.identifier, before, n.scopes",
            params,
        )
        note = TOKEN_NOTE if action == Action.REMOVE_SCOPE else ""
        audit.record_many(
            actor, action, kind, [(row[0], {"scopes": row[1]}, {"scopes": row[2]}) for row in rows], note=note
        )
    return len(rows)


def bulk_add_scope(kind: IdentityKind, identifiers: list[str], scope: str, actor: Actor) -> int:
    """Grant one scope to many identities in one statement; returns how many changed. Refused as a whole when one
    of them is at the cap of scopes (and the statement itself skips any that got there meanwhile)."""
    return _bulk_scope(
        kind,
        identifiers,
        scope,
        actor,
        Action.ADD_SCOPE,
        "CASE WHEN $scope IN before OR size(before) >= $max THEN before ELSE before + $scope END",
    )


def bulk_remove_scope(kind: IdentityKind, identifiers: list[str], scope: str, actor: Actor) -> int:
    return _bulk_scope(kind, identifiers, scope, actor, Action.REMOVE_SCOPE, "[s IN before WHERE s <> $scope]")


def update_details(kind: IdentityKind, identifier: str, actor: Actor, **details: Any) -> None:
    """Set or clear email / full name / expiry (None or '' removes the property, as alchemiscale stores None)."""
    cleaned = clean_details(kind, details)
    if not cleaned:
        return
    # Property names come from kind.detail_fields (constants), checked by clean_details.
    clauses = [f"REMOVE n.{name}" if value is None else f"SET n.{name} = ${name}" for name, value in cleaned.items()]
    with _audited(actor, Action.CHANGE, kind, identifier) as entry:
        rows = store.cypher(
            f"MATCH (n:{kind.label} {{identifier: $identifier}}) WITH n, properties(n) AS before "
            + " ".join(clauses)
            + " RETURN before, properties(n)",
            {"identifier": identifier, **{k: v for k, v in cleaned.items() if v is not None}},
        )
        if not rows:
            raise IdentityNotFound(f"there is no {kind.name} identity {identifier!r}")
        entry.before = {k: v for k, v in public_view(rows[0][0]).items() if k in cleaned}
        entry.after = {k: v for k, v in public_view(rows[0][1]).items() if k in cleaned}


def _parked(kind: IdentityKind, identifier: str) -> ParkedKey | None:
    """The parked row, locked (where the database can) until the caller's transaction ends: callers decide from it
    and record their intent in that transaction, so a concurrent enable and rotation cannot both act on one value."""
    return ParkedKey.objects.select_for_update().filter(identity_kind=kind.name, identifier=identifier).first()


def _set_hash(kind: IdentityKind, identifier: str, expected: str | None, new_hash: str, disabled: bool) -> None:
    """Compare-and-set the key hash, so a change made meanwhile (e.g. by alchemiscale's CLI) is never overwritten."""
    rows = store.cypher(
        f"MATCH (n:{kind.label} {{identifier: $identifier}}) "
        "WHERE n.hashed_key = $expected OR ($expected IS NULL AND n.hashed_key IS NULL) "
        "SET n.hashed_key = $new_hash, n.disabled = $disabled RETURN count(n)",
        {"identifier": identifier, "expected": expected, "new_hash": new_hash, "disabled": disabled},
    )
    if not rows or rows[0][0] != 1:
        raise ConcurrentChange(
            f"the {kind.name} identity {identifier!r} changed while this ran; nothing was changed, try again"
        )


def is_locked(node: CredentialedEntity, parked: ParkedKey | None) -> bool:
    return parked is not None and node.hashed_key == parked.lock_hash


def rotate_key(kind: IdentityKind, identifier: str, key: str | None, actor: Actor) -> str:
    """Give the identity a new key (generated when ``key`` is None), keeping its scopes; returns the key."""
    key = generate_key() if key is None else validate_key(key)
    new_hash = hash_key(key)
    node = require_identity(kind, identifier)
    scopes = {"scopes": list(node.scopes or [])}
    with transaction.atomic():
        parked = _parked(kind, identifier)
        if is_locked(node, parked):
            assert parked is not None  # is_locked says so
            # Still disabled: only the parked hash changes (the new key takes effect on enable), so this
            # transaction holds the whole change.
            writes.refuse_if_unfinished(kind, identifier)
            parked.hashed_key = new_hash
            parked.save(update_fields=["hashed_key"])
            audit.record(
                actor,
                Action.ROTATE_KEY,
                kind,
                identifier,
                after=scopes,
                note="identity is disabled; the new key works once it is enabled. " + TOKEN_NOTE,
            )
            return key
        write = writes.begin(
            actor,
            Action.ROTATE_KEY,
            kind,
            identifier,
            before=writes.state(node.hashed_key, node.disabled),
            after=writes.state(new_hash, node.disabled),
            audit_after=scopes,
            note=TOKEN_NOTE,
        )
    _write_hash(kind, write)
    return key


def _begin_flag_change(
    actor: Actor,
    action: str,
    kind: IdentityKind,
    node: CredentialedEntity,
    new_hash: str | None,
    disabled: bool,
    note: str,
) -> IdentityWrite:
    return writes.begin(
        actor,
        action,
        kind,
        node.identifier,
        before=writes.state(node.hashed_key, node.disabled),
        after=writes.state(new_hash, disabled),
        audit_before={"disabled": bool(node.disabled)},
        audit_after={"disabled": disabled},
        note=note,
    )


def _write_hash(kind: IdentityKind, write: IdentityWrite) -> None:
    """Carry out a begun key change in Neo4j: compare-and-set from the intent's state before to its state after."""
    before: dict[str, Any] = write.neo4j_before or {}
    after: dict[str, Any] = write.neo4j_after or {}
    writes.carry_out(
        write, lambda: _set_hash(kind, write.identifier, before["hashed_key"], after["hashed_key"], after["disabled"])
    )


def disable_identity(kind: IdentityKind, identifier: str, actor: Actor) -> bool:
    """Lock the identity out of alchemiscale; False if it already was."""
    node = require_identity(kind, identifier)
    lock = unusable_hash()
    with transaction.atomic():
        already = is_locked(node, _parked(kind, identifier))
        # The real hash is in the intent, committed before Neo4j gets the lock hash; writes.finish parks it
        # (replacing a stale parked hash, one whose key was replaced outside the portal since).
        write = _begin_flag_change(
            actor,
            Action.DISABLE,
            kind,
            node,
            node.hashed_key if already else lock,
            True,
            "already locked out" if already else TOKEN_NOTE,
        )
    _write_hash(kind, write)
    return not already


def enable_identity(kind: IdentityKind, identifier: str, actor: Actor) -> str:
    """Let the identity in again with the key it had; returns what was done, in words."""
    node = require_identity(kind, identifier)
    with transaction.atomic():
        parked = _parked(kind, identifier)
        new_hash = node.hashed_key
        if is_locked(node, parked):
            assert parked is not None  # is_locked says so
            new_hash = parked.hashed_key or None
            outcome = "enabled: its key works again"
        elif parked is not None:
            outcome = "enabled: its key was replaced outside the portal while disabled, and that key is kept"
        else:
            outcome = "enabled (it was not locked out by the portal)" if node.disabled else "it was already enabled"
        # The parked row is removed only by writes.finish, once Neo4j holds the real hash again.
        write = _begin_flag_change(actor, Action.ENABLE, kind, node, new_hash, False, outcome)
    _write_hash(kind, write)
    return outcome


def lock_expired(kind: IdentityKind, actor: Actor, now: dt.datetime | None = None) -> list[str]:
    """Disable every identity whose expiry has passed: alchemiscale itself never checks ``expires``."""
    now = now or dt.datetime.now(dt.UTC)
    rows = store.cypher(
        f"MATCH (n:{kind.label}) WHERE n.expires IS NOT NULL AND n.expires <= $now "
        "AND coalesce(n.disabled, false) = false RETURN n.identifier ORDER BY n.identifier",
        {"now": now},
    )
    return [identifier for (identifier,) in rows if disable_identity(kind, identifier, actor)]
