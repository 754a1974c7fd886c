"""Every question the fleet pages, the command and the status line ask the state store (docs/compute.md).

Each query is a constant with parameters, bounded by ``LIMIT``, a scope or a time window, and only reads: nothing
here contains a write clause (tests/compute/test_read_only.py). The shapes are alchemiscale's (docs/facts.md,
"Compute: services, managers, tasks and results"). A label disjunction such as ``:Transformation|NonTransformation``
is left out on purpose: Neo4j 4.4, which the portal still reads before an upgrade, does not parse it, and only
transformations are ever the target of a task's ``PERFORMS``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.conf import settings

from identities import store

from . import states

#: at most this many rows on a list page or in the command's output
LIMIT = 200
#: an anomaly counts up to this many and says "at least" beyond
ANOMALY_CAP = 10_000

#: the sort keys a services list accepts, and the Cypher expression each stands for (never user text in a query)
SERVICE_ORDER = {
    "identifier": "s.identifier",
    "registered": "s.registered",
    "heartbeat": "s.heartbeat",
    "failures": "failures",
    "claims": "claims",
    "manager": "s.manager_name",
}

# The state expression mirrors states.service_state (stale first, then denied) so that a filter by state and the
# state shown agree; tests/compute/test_pages.py checks both on the same graph.
SERVICES = """
MATCH (s:ComputeServiceRegistration)
WHERE ($search IS NULL OR toLower(s.identifier) CONTAINS $search
       OR toLower(coalesce(s.hostname, '')) CONTAINS $search)
  AND ($manager IS NULL OR s.manager_name = $manager)
WITH s, size([f IN coalesce(s.failure_times, []) WHERE f > $forgive_after]) AS failures
WITH s, failures,
     CASE WHEN s.heartbeat < $expire_before THEN 'stale'
          WHEN failures > $max_failures THEN 'denied'
          ELSE 'alive' END AS state
WHERE $state IS NULL OR state = $state
WITH s, failures, state, size([(s)-[:CLAIMS]->(t:Task) | t]) AS claims
ORDER BY {order} {direction}, s.identifier
LIMIT $limit
RETURN properties(s) AS s, failures, claims
"""

SERVICE = """
MATCH (s:ComputeServiceRegistration {identifier: $identifier})
OPTIONAL MATCH (m:ComputeManagerRegistration)-[:MANAGES]->(s)
RETURN properties(s) AS s, m.name AS managed_by
LIMIT 1
"""

SERVICE_CLAIMS = """
MATCH (:ComputeServiceRegistration {identifier: $identifier})-[c:CLAIMS]->(t:Task)
RETURN t._scoped_key AS task, t.status AS status, t.priority AS priority,
       t._org + '-' + t._campaign + '-' + t._project AS scope, c.claimed AS claimed
ORDER BY c.claimed
LIMIT $limit
"""

MANAGERS = """
MATCH (m:ComputeManagerRegistration)
WITH m ORDER BY CASE WHEN m.status = $error THEN 0 ELSE 1 END, m.name
LIMIT $limit
OPTIONAL MATCH (m)-[:MANAGES]->(s:ComputeServiceRegistration)
WITH m, s ORDER BY s.identifier
RETURN properties(m) AS m, collect(s.identifier) AS services
"""

# What "expire stale registrations now" would change (compute/actions.py acts on exactly these).
STALE_PREVIEW = """
MATCH (n:ComputeServiceRegistration)
WHERE n.heartbeat < $expire_before
WITH n ORDER BY n.heartbeat
LIMIT $limit
OPTIONAL MATCH (n)-[:CLAIMS]->(t:Task {status: $running})
RETURN n.identifier AS identifier, n.heartbeat AS heartbeat, collect(t._scoped_key) AS tasks
"""

MANAGER = """
MATCH (m:ComputeManagerRegistration {name: $name, uuid: $uuid})
RETURN properties(m) AS m
LIMIT 1
"""

SERVICES_BY_STATE = """
MATCH (s:ComputeServiceRegistration)
WITH s, size([f IN coalesce(s.failure_times, []) WHERE f > $forgive_after]) AS failures
RETURN CASE WHEN s.heartbeat < $expire_before THEN 'stale'
            WHEN failures > $max_failures THEN 'denied'
            ELSE 'alive' END AS state, count(s) AS n
"""

# As alchemiscale's own status per scope: task -> transformation <- network <- mark, a task counted once. A task
# performs exactly one transformation, so counting the distinct transformations' tasks counts each task once without
# holding a million tasks for DISTINCT.
SCOPE_STATUS = """
MATCH (nm:NetworkMark)-[:MARKS]->(an:AlchemicalNetwork)
WHERE $network_state IS NULL OR nm.state = $network_state
MATCH (an)-[:DEPENDS_ON]->(tf)
WITH DISTINCT tf
MATCH (tf)<-[:PERFORMS]-(t:Task)
RETURN t._org AS org, t._campaign AS campaign, t._project AS project, t.status AS status, count(t) AS n
ORDER BY org, campaign, project, status
LIMIT $limit
"""

# From the scope's networks down (few), not from every task of the store up: Task has no index to start from. What
# alchemiscale 0.8 adds (t.datetime_status_changed, t.reason, TaskProvenance attempts) is read where the store holds
# it and is null where it does not: no version is asked.
SCOPE_TASKS = """
MATCH (an:AlchemicalNetwork {_org: $org, _campaign: $campaign, _project: $project})<-[:MARKS]-(nm:NetworkMark)
WHERE $network_state IS NULL OR nm.state = $network_state
MATCH (an)-[:DEPENDS_ON]->()<-[:PERFORMS]-(t:Task {status: $status})
WITH DISTINCT t ORDER BY t.priority, t.datetime_created
LIMIT $limit
OPTIONAL MATCH (s:ComputeServiceRegistration)-[c:CLAIMS]->(t)
OPTIONAL MATCH (t)-[:RESULTS_IN]->(r:ProtocolDAGResultRef {ok: false})
WITH t, s, c, r ORDER BY r.datetime_created DESC
WITH t, s, c, collect(r)[0] AS last
OPTIONAL MATCH (tb:Tracebacks)-[:DETAILS]->(last)
OPTIONAL MATCH (tp:TaskProvenance)-[:PROVENANCE_OF]->(t)
WITH t, s, c, last, tb, tp ORDER BY tp.datetime_claimed DESC
WITH t, s, c, last, tb, collect(tp) AS attempts
RETURN t._scoped_key AS task, t.status AS status, t.priority AS priority, t.datetime_created AS created,
       s.identifier AS claimant, c.claimed AS claimed,
       last.datetime_created AS failed_at, last.creator AS failed_on, tb.tracebacks AS tracebacks,
       t.datetime_status_changed AS status_changed, t.reason AS reason,
       size(attempts) AS attempts, properties(attempts[0]) AS attempt
ORDER BY t.priority, t.datetime_created
"""


@dataclasses.dataclass(frozen=True)
class Anomaly:
    name: str
    title: str
    why: str
    cypher: str


ANOMALIES = (
    Anomaly(
        "running_unclaimed",
        "Running tasks no service claims",
        "A running task without a claim is never picked up again: nothing will finish it or put it back.",
        """
MATCH (t:Task {status: $running})
WHERE NOT (t)<-[:CLAIMS]-(:ComputeServiceRegistration)
WITH t LIMIT $cap
RETURN count(t) AS n, collect({task: t._scoped_key})[..$sample] AS sample
""",
    ),
    Anomaly(
        "stale_claims",
        "Claims held by stale services",
        "alchemiscale expires registrations only inside another service's heartbeat: when the whole fleet died, "
        "these tasks stay running until a service comes back.",
        """
MATCH (s:ComputeServiceRegistration)-[c:CLAIMS]->(t:Task)
WHERE s.heartbeat < $expire_before
WITH s, c, t LIMIT $cap
RETURN count(t) AS n,
       collect({service: s.identifier, task: t._scoped_key, status: t.status})[..$sample] AS sample
""",
    ),
    Anomaly(
        "waiting_with_result",
        "Waiting tasks that already hold a successful result",
        "The work is done but the task will be computed again (alchemiscale issue 513).",
        """
MATCH (t:Task {status: $waiting})-[:RESULTS_IN]->(:ProtocolDAGResultRef {ok: true})
WITH DISTINCT t LIMIT $cap
RETURN count(t) AS n, collect({task: t._scoped_key})[..$sample] AS sample
""",
    ),
    Anomaly(
        "running_inactive_network",
        "Running tasks whose networks are no longer active",
        "Compute is spent on networks nobody wants any more (alchemiscale issue 301).",
        """
MATCH (t:Task {status: $running})
WHERE NOT EXISTS {
  MATCH (t)-[:PERFORMS]->()<-[:DEPENDS_ON]-(:AlchemicalNetwork)<-[:MARKS]-(:NetworkMark {state: $active})
}
WITH t LIMIT $cap
RETURN count(t) AS n, collect({task: t._scoped_key})[..$sample] AS sample
""",
    ),
    Anomaly(
        "strategy_errors",
        "Strategies in error",
        "The strategist skips a network whose strategy is in error until someone resets it.",
        """
MATCH (:GufeTokenizable)-[p:PROGRESSES]->(an:AlchemicalNetwork)
WHERE p.status = $strategy_error
WITH an, p LIMIT $cap
RETURN count(an) AS n, collect({network: an._scoped_key, exception: p.exception})[..$sample] AS sample
""",
    ),
    Anomaly(
        "managers_error",
        "Compute managers in ERROR",
        "A manager in ERROR starts no services until its registration is cleared.",
        """
MATCH (m:ComputeManagerRegistration {status: $manager_error})
WITH m LIMIT $cap
RETURN count(m) AS n, collect({manager: m.name + '-' + m.uuid, detail: m.detail})[..$sample] AS sample
""",
    ),
)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def limits() -> states.Thresholds:
    return states.Thresholds.from_settings(settings)


def native(value: Any) -> Any:
    """Neo4j's date-times as Python's, also inside lists and maps (the rest is left as it is)."""
    if hasattr(value, "to_native"):
        return value.to_native()
    if isinstance(value, list):
        return [native(v) for v in value]
    if isinstance(value, dict):
        return {k: native(v) for k, v in value.items()}
    return value


def records(query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows, columns = store.cypher_with_columns(query, params)
    return [{c: native(v) for c, v in zip(columns, row)} for row in rows]


def _service(props: dict[str, Any], at: dt.datetime, lim: states.Thresholds, **extra: Any) -> dict[str, Any]:
    props = native(props)
    failure_times = props.get("failure_times") or []
    return {
        "identifier": props["identifier"],
        "name": states.name_of(props["identifier"]),
        "hostname": props.get("hostname"),
        "manager": props.get("manager_name"),
        "registered": props.get("registered"),
        "heartbeat": props["heartbeat"],
        "heartbeat_age": at - props["heartbeat"],
        "state": states.service_state(props["heartbeat"], failure_times, at, lim),
        "failures": states.recent_failures(failure_times, at, lim),
        "failures_listed": len(failure_times),
        **extra,
    }


def _window(at: dt.datetime | None) -> tuple[dt.datetime, states.Thresholds, dict[str, Any]]:
    at = at or now()
    lim = limits()
    params = {
        "expire_before": lim.expire_before(at),
        "forgive_after": lim.forgive_after(at),
        "max_failures": lim.max_failures,
    }
    return at, lim, params


def services_query(order: str = "identifier", descending: bool = False) -> str:
    if order not in SERVICE_ORDER:
        raise ValueError(f"cannot sort services by {order!r}; one of {', '.join(SERVICE_ORDER)}")
    return SERVICES.format(order=SERVICE_ORDER[order], direction="DESC" if descending else "ASC")


def services(
    *,
    search: str | None = None,
    state: str | None = None,
    manager: str | None = None,
    order: str = "identifier",
    descending: bool = False,
    limit: int = LIMIT,
    at: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    if state is not None and state not in states.SERVICE_STATES:
        raise ValueError(f"no service state {state!r}; one of {', '.join(states.SERVICE_STATES)}")
    at, lim, params = _window(at)
    params |= {
        "search": search.lower() if search else None,
        "state": state,
        "manager": manager or None,
        "limit": limit,
    }
    return [_service(r["s"], at, lim, claims=r["claims"]) for r in records(services_query(order, descending), params)]


def service(identifier: str, *, limit: int = LIMIT, at: dt.datetime | None = None) -> dict[str, Any] | None:
    at, lim, _ = _window(at)
    found = records(SERVICE, {"identifier": identifier})
    if not found:
        return None
    claims = records(SERVICE_CLAIMS, {"identifier": identifier, "limit": limit})
    for claim in claims:
        claim["claim_age"] = at - claim["claimed"] if claim["claimed"] else None
    return _service(found[0]["s"], at, lim, managed_by=found[0]["managed_by"], claims=len(claims), claimed=claims)


def services_by_state(at: dt.datetime | None = None) -> dict[str, int]:
    _, _, params = _window(at)
    counts = dict.fromkeys(states.SERVICE_STATES, 0)
    counts.update({r["state"]: r["n"] for r in records(SERVICES_BY_STATE, params)})
    return counts


def stale_preview(*, limit: int = LIMIT, at: dt.datetime | None = None) -> list[dict[str, Any]]:
    at, _, params = _window(at)
    found = records(STALE_PREVIEW, {"expire_before": params["expire_before"], "running": "running", "limit": limit})
    for row in found:
        row["heartbeat_age"] = at - row["heartbeat"]
    return found


def manager(manager_id: str) -> dict[str, Any] | None:
    name, _, manager_uuid = manager_id.rpartition("-")
    found = records(MANAGER, {"name": name, "uuid": manager_uuid})
    return found[0]["m"] if found else None


def managers(*, limit: int = LIMIT, sample: int = 20, at: dt.datetime | None = None) -> list[dict[str, Any]]:
    at, lim, _ = _window(at)
    found = []
    for r in records(MANAGERS, {"error": states.MANAGER_ERROR, "limit": limit}):
        m = r["m"]
        found.append(
            {
                "id": f"{m['name']}-{m['uuid']}",
                "name": m["name"],
                "uuid": m["uuid"],
                "status": m.get("status"),
                "detail": m.get("detail") or "",
                "saturation": m.get("saturation"),
                "last_status_update": m.get("last_status_update"),
                "registered": m.get("registered"),
                "expired": states.manager_expired(m.get("status", ""), m["last_status_update"], at, lim),
                "services": r["services"][:sample],
                "service_count": len(r["services"]),
            }
        )
    # the aggregation loses the query's order: ERROR first again, then by name
    return sorted(found, key=lambda m: (m["status"] != states.MANAGER_ERROR, m["name"]))


def scope_status(network_state: str | None = "active", *, limit: int = 1000) -> list[dict[str, Any]]:
    """One row per scope: its task counts by status, for networks in ``network_state`` (None: any state)."""
    rows: dict[str, dict[str, Any]] = {}
    for r in records(SCOPE_STATUS, {"network_state": network_state, "limit": limit}):
        scope = f"{r['org']}-{r['campaign']}-{r['project']}"
        row = rows.setdefault(
            scope, {"scope": scope, "org": r["org"], "campaign": r["campaign"], "project": r["project"], "counts": {}}
        )
        row["counts"][r["status"]] = r["n"]
    for row in rows.values():
        row["total"] = sum(row["counts"].values())
    return list(rows.values())


def scope_tasks(
    org: str,
    campaign: str,
    project: str,
    status: str,
    *,
    network_state: str | None = "active",
    limit: int = LIMIT,
    at: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    at = at or now()
    params = {
        "org": org,
        "campaign": campaign,
        "project": project,
        "status": status,
        "network_state": network_state,
        "limit": limit,
    }
    found = records(SCOPE_TASKS, params)
    for t in found:
        t["age"] = at - t["created"] if t["created"] else None
        t["claim_age"] = at - t["claimed"] if t["claimed"] else None
        t["status_age"] = at - t["status_changed"] if t["status_changed"] else None
    return found


def anomaly_params(at: dt.datetime | None = None, *, sample: int = 5, cap: int = ANOMALY_CAP) -> dict[str, Any]:
    at, lim, _ = _window(at)
    return {
        "running": "running",
        "waiting": "waiting",
        "active": "active",
        "strategy_error": "error",
        "manager_error": states.MANAGER_ERROR,
        "expire_before": lim.expire_before(at),
        "sample": sample,
        "cap": cap,
    }


def anomaly(a: Anomaly, params: dict[str, Any]) -> dict[str, Any]:
    """Run one anomaly's Cypher with the parameters it uses (of ``params``, from :func:`anomaly_params`)."""
    used = {k: v for k, v in params.items() if "$" + k in a.cypher}
    record = records(a.cypher, used)[0]
    return {
        "name": a.name,
        "title": a.title,
        "why": a.why,
        "count": record["n"],
        "capped": record["n"] >= params["cap"],
        "sample": record["sample"],
        "cypher": a.cypher.strip(),
        "params": used,
    }


ANOMALY = {a.name: a for a in ANOMALIES}


def anomalies(at: dt.datetime | None = None, *, sample: int = 5, cap: int = ANOMALY_CAP) -> list[dict[str, Any]]:
    params = anomaly_params(at, sample=sample, cap=cap)
    return [anomaly(a, params) for a in ANOMALIES]
