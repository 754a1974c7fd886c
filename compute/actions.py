"""The only two writes the portal makes to the fleet, each alchemiscale's own (docs/compute.md, "Two actions"):

- expire stale registrations now: what alchemiscale's ``expire_registrations`` does inside a heartbeat, for a fleet
  that no longer heartbeats: the running tasks a stale registration claims go back to ``waiting``, the
  registration goes with its claims;
- clear a manager's ERROR: what ``clear_errored_computemanager`` does: the ERROR registration is removed, so a
  manager of that name may register again.

The preview is a read (compute/queries.py); the write acts only on what the preview listed and only while it is
still true (a service that heartbeats meanwhile is no longer stale and stays), and every write leaves an audit row.
This is the one module of the app whose Cypher writes (tests/compute/test_read_only.py leaves it out).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from identities import store
from security.actors import Actor

from . import counted, queries, states
from .models import FleetAuditEntry

# As alchemiscale 0.8's expire_registrations where the store is of that line (it holds TaskProvenance, or the task
# its datetime_status_changed): the status change is dated and its reason cleared, and the service's open attempt
# is closed as expired. Before 0.8 neither exists and only the status changes, as that release does.
EXPIRE_STALE = """
MATCH (n:ComputeServiceRegistration)
WHERE n.identifier IN $identifiers AND n.heartbeat < $expire_before
OPTIONAL MATCH (n)-[:CLAIMS]->(t:Task {status: $running})
SET t.datetime_status_changed = CASE WHEN $dated OR t.datetime_status_changed IS NOT NULL THEN $now
                                     ELSE t.datetime_status_changed END,
    t.reason = null,
    t.status = $waiting
WITH n, t
OPTIONAL MATCH (t)<-[:PROVENANCE_OF]-(tp:TaskProvenance {compute_service_id: n.identifier})
WHERE tp.datetime_end IS NULL
SET tp.outcome = $expired, tp.datetime_end = $now
WITH n, n.identifier AS identifier, collect(DISTINCT t._scoped_key) AS tasks
DETACH DELETE n
RETURN identifier, tasks
"""

#: a store of alchemiscale 0.8 or later: it holds a TaskProvenance (a label count: Neo4j keeps it, nothing is read)
HOLDS_PROVENANCE = "MATCH (tp:TaskProvenance) RETURN count(tp) > 0 AS found"

CLEAR_MANAGER_ERROR = """
MATCH (cmr:ComputeManagerRegistration {name: $name, uuid: $uuid, status: $error})
WITH cmr, properties(cmr) AS before
DETACH DELETE cmr
RETURN before
"""


class NothingToDo(Exception):
    """What the confirmation page listed is no longer so; nothing was changed."""


def expire_stale(identifiers: list[str], actor: Actor, *, at: dt.datetime | None = None) -> dict[str, Any]:
    """Expire those of ``identifiers`` that are still stale; returns {identifier: [tasks set back to waiting]}."""
    at = at or queries.now()
    params = {
        "identifiers": list(identifiers),
        "expire_before": queries.limits().expire_before(at),
        "running": "running",
        "waiting": "waiting",
        "expired": "expired",
        "now": at,
        "dated": bool(store.cypher(HOLDS_PROVENANCE)[0][0]),
    }
    # One auto-committed statement in Neo4j, then the audit row: the portal's database cannot share Neo4j's
    # transaction, and a write that did not happen must not be recorded.
    rows, _ = store.cypher_with_columns(EXPIRE_STALE, params)
    removed = {identifier: tasks for identifier, tasks in rows}
    counted.forget()  # the kept counts (stale claims, tasks by status) no longer hold
    if not removed:
        raise NothingToDo("none of these registrations is stale any more; nothing was changed")
    FleetAuditEntry.objects.create(
        actor_kind=actor.kind,
        actor=actor.name,
        action=FleetAuditEntry.Action.EXPIRE_STALE,
        changed={"registrations": removed, "asked": list(identifiers)},
        note=f"{len(removed)} registrations removed, {sum(map(len, removed.values()))} tasks back to waiting",
    )
    return removed


def clear_manager_error(manager_id: str, actor: Actor) -> dict[str, Any]:
    """Remove the ERROR registration ``<name>-<uuid>``; returns its properties as they were."""
    name, _, manager_uuid = manager_id.rpartition("-")
    params = {"name": name, "uuid": manager_uuid, "error": states.MANAGER_ERROR}
    rows, _ = store.cypher_with_columns(CLEAR_MANAGER_ERROR, params)
    counted.forget()
    if not rows:
        raise NothingToDo(f"no manager {manager_id} in ERROR; nothing was changed")
    before = queries.native(rows[0][0])
    FleetAuditEntry.objects.create(
        actor_kind=actor.kind,
        actor=actor.name,
        action=FleetAuditEntry.Action.CLEAR_MANAGER_ERROR,
        changed={"manager": manager_id, "before": {k: str(v) for k, v in before.items()}},
        note=before.get("detail", ""),
    )
    return before
