"""Helpers for the identity write failure tests: real failures injected at one point, and a look at every record."""

from __future__ import annotations

import io

from django.core.management import call_command
from django.db import DatabaseError
from neo4j.exceptions import ServiceUnavailable

from identities import audit, store, writes
from identities.models import AuditEntry, IdentityWrite, ParkedKey

from .identity_support import graph_fingerprint


def break_django_after_neo4j(monkeypatch) -> None:
    """The portal's database fails in the transaction that follows the Neo4j write (writes.finish writes the audit
    entry there; a rotation of a disabled identity writes it in its only transaction)."""

    def broken(*args, **kwargs):
        raise DatabaseError("disk I/O error (injected by the test)")

    monkeypatch.setattr(audit, "record", broken)


def take_neo4j_down_after_begin(monkeypatch) -> None:
    """Neo4j stops answering right after the intent is committed: its write and any read made to settle it fail."""
    down = False
    real_begin, real_cypher = writes.begin, store.cypher

    def begin(*args, **kwargs):
        nonlocal down
        write = real_begin(*args, **kwargs)
        down = True
        return write

    def cypher(query, params=None):
        if down:
            raise ServiceUnavailable("connection refused (injected by the test)")
        return real_cypher(query, params)

    monkeypatch.setattr(writes, "begin", begin)
    monkeypatch.setattr(store, "cypher", cypher)


def reconcile() -> str:
    out = io.StringIO()
    call_command("identity", "reconcile", "--min-age", "0", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def everything() -> tuple:
    """Neo4j's nodes and the portal's identity rows, to show that a step changed nothing."""
    return (
        graph_fingerprint(),
        sorted(AuditEntry.objects.values_list("action", "identity_kind", "identifier", "before", "after", "note")),
        sorted(ParkedKey.objects.values_list("identity_kind", "identifier", "hashed_key", "lock_hash")),
        sorted(IdentityWrite.objects.values_list("id", "state", "outcome")),
    )


def assert_reconcile_again_changes_nothing() -> None:
    before = everything()
    assert reconcile().strip().endswith("0 unfinished changes settled")
    assert everything() == before


def audited(action: str, identifier: str) -> int:
    return AuditEntry.objects.filter(action=action, identifier=identifier).count()
