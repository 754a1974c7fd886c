"""Changes that touch both Neo4j and the portal's database, ordered so that a failure between them loses nothing.

Neo4j and Django's database cannot commit together. So a change to an identity's key or existence is made in three
steps (docs/identity-writes.md):

1. ``begin``: an ``IdentityWrite`` row, committed on its own, records the Neo4j state expected before and after and
   the audit entry to write; for a disable, the state before is the real key hash.
2. The caller's Neo4j write (a compare-and-set where a key hash changes).
3. ``finish``: one Django transaction marks the row done, writes the audit entry and changes the parked key.

A failure after step 1 leaves a pending row; ``reconcile`` (``manage.py identity reconcile``) reads Neo4j and either
finishes the change (Neo4j shows the state after) or marks it abandoned (it shows anything else).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.utils import timezone

from . import audit, store
from .audit import Actor
from .models import AuditEntry, IdentityWrite, ParkedKey
from .nodes import IdentityKind, kind_named
from .rules import IdentityError

log = logging.getLogger(__name__)
State = IdentityWrite.State
T = TypeVar("T")

RECONCILE_HINT = "`manage.py identity reconcile` completes it, or records that it never happened"
# A pending row younger than this may belong to a change still running; reconcile leaves it alone by default.
RECONCILE_MIN_AGE = dt.timedelta(minutes=2)


class ConcurrentChange(IdentityError):
    """The identity changed meanwhile, or an unfinished change of it is recorded; nothing was changed."""


class UnfinishedChange(IdentityError):
    """Neo4j was changed but the portal's records of it were not written."""


def state(hashed_key: str | None, disabled: Any) -> dict[str, Any]:
    """What an intent compares in Neo4j: the key hash and the disabled flag."""
    return {"hashed_key": hashed_key, "disabled": bool(disabled)}


def node_properties(kind: IdentityKind, identifier: str) -> dict[str, Any] | None:
    rows = store.cypher(
        f"MATCH (n:{kind.label} {{identifier: $identifier}}) RETURN properties(n) LIMIT 1", {"identifier": identifier}
    )
    return rows[0][0] if rows else None


def neo4j_state(kind: IdentityKind, identifier: str) -> dict[str, Any] | None:
    props = node_properties(kind, identifier)
    return None if props is None else state(props.get("hashed_key"), props.get("disabled"))


def unfinished(kind: IdentityKind, identifier: str) -> IdentityWrite | None:
    return IdentityWrite.objects.filter(state=State.PENDING, identity_kind=kind.name, identifier=identifier).first()


def refuse_if_unfinished(kind: IdentityKind, identifier: str) -> None:
    pending = unfinished(kind, identifier)
    if pending is not None:
        raise ConcurrentChange(
            f"an unfinished change ({pending.action}, started {pending.started_at:%Y-%m-%d %H:%M} "
            f"UTC) of the {kind.name} identity {identifier!r} is recorded; {RECONCILE_HINT}. "
            "Nothing was changed."
        )


def begin(
    actor: Actor,
    action: str,
    kind: IdentityKind,
    identifier: str,
    *,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    audit_before: dict[str, Any] | None = None,
    audit_after: dict[str, Any] | None = None,
    note: str = "",
) -> IdentityWrite:
    """Record the intended change. It commits with the caller's outermost transaction (or at once, outside one),
    and that must end before ``carry_out`` touches Neo4j."""
    refuse_if_unfinished(kind, identifier)
    try:
        with transaction.atomic():
            return IdentityWrite.objects.create(
                action=action,
                identity_kind=kind.name,
                identifier=identifier,
                neo4j_before=before,
                neo4j_after=after,
                actor_kind=actor.kind,
                actor=actor.name,
                audit_before=audit_before,
                audit_after=audit_after,
                note=note,
            )
    except IntegrityError:  # another change of this identity began in the meantime (one_pending_write)
        refuse_if_unfinished(kind, identifier)
        raise


def carry_out(write: IdentityWrite, neo4j_write: Callable[[], T]) -> T | None:
    """Run the Neo4j write of a begun change, then finish it; returns what the write returned.

    A write that refuses (an ``IdentityError``: not found, changed meanwhile) changed nothing: the row is abandoned.
    Any other failure leaves it open whether Neo4j committed, so Neo4j is read to settle it at once; if that fails
    too the row stays pending for ``reconcile``.
    """
    try:
        result = neo4j_write()
    except IdentityError as exc:
        abandon(write, f"refused: {exc}")
        raise
    except Exception as failure:
        try:
            outcome = settle(write)
        except Exception:
            log.exception("could not settle %s after its Neo4j write failed; left for reconcile", write)
            raise failure from None
        if outcome != State.DONE:
            raise
        # The write had committed (only its answer was lost): the change is complete.
        return None
    try:
        finish(write)
    except Exception as exc:
        log.exception("%s: Neo4j was changed but the portal's records were not written", write)
        raise UnfinishedChange(
            f"the change of the {write.identity_kind} identity {write.identifier!r} reached "
            f"Neo4j, but the portal could not record it ({exc}); {RECONCILE_HINT}"
        ) from exc
    return result


def finish(write: IdentityWrite) -> None:
    """Neo4j holds the state after: mark the row done, write the audit entry and the parked key, all or nothing."""
    with transaction.atomic():
        claimed = IdentityWrite.objects.filter(pk=write.pk, state=State.PENDING).update(
            state=State.DONE, settled_at=timezone.now(), outcome="done"
        )
        if not claimed:
            return  # settled already, e.g. by reconcile
        _update_parked_key(write)
        audit.record(
            Actor(write.actor_kind, write.actor),
            write.action,
            kind_named(write.identity_kind),
            write.identifier,
            write.audit_before,
            write.audit_after,
            write.note,
        )


def _update_parked_key(write: IdentityWrite) -> None:
    parked = ParkedKey.objects.filter(identity_kind=write.identity_kind, identifier=write.identifier)
    if write.action != AuditEntry.Action.DISABLE:
        # After an add, remove, rotation or enable Neo4j holds no lock hash: a parked hash is restored or stale.
        parked.delete()
        return
    was: dict[str, Any] = write.neo4j_before or {}
    now: dict[str, Any] = write.neo4j_after or {}
    before, after = was["hashed_key"], now["hashed_key"]
    if before != after:  # the lock hash replaced the real one, which is parked from the row's state before
        parked.delete()
        ParkedKey.objects.create(
            identity_kind=write.identity_kind, identifier=write.identifier, hashed_key=before or "", lock_hash=after
        )


def abandon(write: IdentityWrite, why: str) -> None:
    IdentityWrite.objects.filter(pk=write.pk, state=State.PENDING).update(
        state=State.ABANDONED, settled_at=timezone.now(), outcome=why
    )


def settle(write: IdentityWrite) -> str:
    """Finish or abandon a pending change by what Neo4j shows now; returns the row's new state."""
    seen = neo4j_state(kind_named(write.identity_kind), write.identifier)
    if seen == write.neo4j_after:
        finish(write)
        return State.DONE
    if seen == write.neo4j_before:
        abandon(write, "Neo4j still shows the state before: the change never happened")
    else:
        # Changed outside the portal since (e.g. alchemiscale's CLI): the portal records nothing it cannot see.
        # The row keeps the hashes it held, so even then no key hash is lost.
        abandon(write, "Neo4j shows neither the state before nor the one intended: changed outside the portal")
    return State.ABANDONED


def reconcile(min_age: dt.timedelta = RECONCILE_MIN_AGE) -> tuple[list[IdentityWrite], int]:
    """Settle every pending change older than ``min_age``; returns them (reloaded) and how many younger were left."""
    pending = IdentityWrite.objects.filter(state=State.PENDING).order_by("started_at", "id")
    cutoff = timezone.now() - min_age
    settled = []
    for write in pending.filter(started_at__lte=cutoff):
        settle(write)
        write.refresh_from_db()
        settled.append(write)
    return settled, pending.count()
