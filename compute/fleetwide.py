"""The questions that read every task or result of a kind: tasks by scope, networks, throughput, the anomalies and
the store's tasks by status (docs/compute.md, "Speed"). Each is answered through compute/counted.py: kept for a
minute and shown with the time it was counted.

Read-only and parameterised like compute/queries.py (tests/compute/test_read_only.py reads this module too). A
``ProtocolDAGResultRef``'s ``datetime_created`` is ISO text (alchemiscale writes ``isoformat()``), so its windows
compare with ISO text of the same shape.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from . import counted, queries, states
from .counted import Counted

#: the throughput's windows, each with its length, shortest first
WINDOWS = (("hour", dt.timedelta(hours=1)), ("day", dt.timedelta(days=1)), ("week", dt.timedelta(days=7)))

# Networks with their mark, hub, strategy state and task counts; bounded by LIMIT on the networks, then each
# network's own tasks (every task of the listed networks is read: the counts are cached like the scope counts).
NETWORKS = """
MATCH (nm:NetworkMark)-[:MARKS]->(an:AlchemicalNetwork)
WHERE $network_state IS NULL OR nm.state = $network_state
WITH nm, an ORDER BY an._org, an._campaign, an._project, an._scoped_key
LIMIT $limit
OPTIONAL MATCH (an)-[:DEPENDS_ON]->()<-[:PERFORMS]-(t:Task)
WITH nm, an, t.status AS status, count(t) AS n
WITH nm, an, collect({status: status, n: n}) AS counts
OPTIONAL MATCH (th:TaskHub)-[:PERFORMS]->(an)
OPTIONAL MATCH ()-[p:PROGRESSES]->(an)
RETURN an._scoped_key AS network, an.name AS name, an._org + '-' + an._campaign + '-' + an._project AS scope,
       nm.state AS state, th.weight AS weight, counts,
       p.status AS strategy_status, p.exception AS strategy_exception
ORDER BY an._org, an._campaign, an._project, an._scoped_key
"""

# One pass over the week's results, one row per uploader (``creator``: the service's identifier) or per scope, the
# busiest first. Neo4j 4.4 reads the same text.
_THROUGHPUT = """
MATCH (r:ProtocolDAGResultRef)
WHERE r.datetime_created >= $week
WITH {key} AS key, r.ok AS ok, r.datetime_created AS at
WITH key,
     sum(CASE WHEN ok AND at >= $hour THEN 1 ELSE 0 END) AS hour_ok,
     sum(CASE WHEN NOT ok AND at >= $hour THEN 1 ELSE 0 END) AS hour_failed,
     sum(CASE WHEN ok AND at >= $day THEN 1 ELSE 0 END) AS day_ok,
     sum(CASE WHEN NOT ok AND at >= $day THEN 1 ELSE 0 END) AS day_failed,
     sum(CASE WHEN ok THEN 1 ELSE 0 END) AS week_ok,
     sum(CASE WHEN NOT ok THEN 1 ELSE 0 END) AS week_failed
ORDER BY week_ok + week_failed DESC, key
LIMIT $limit
RETURN key, hour_ok, hour_failed, day_ok, day_failed, week_ok, week_failed
"""
THROUGHPUT_BY_SERVICE = _THROUGHPUT.format(key="coalesce(r.creator, '(unknown)')")
THROUGHPUT_BY_SCOPE = _THROUGHPUT.format(key="r._org + '-' + r._campaign + '-' + r._project")
# The instance's totals: every result of the week in one row (the tables above stop at LIMIT rows).
THROUGHPUT_ALL = _THROUGHPUT.format(key="'all'")

# Every task of the store by status (for /metrics and the history): a scan of Task, nothing else.
TASKS_BY_STATUS = """
MATCH (t:Task)
RETURN t.status AS status, count(t) AS n
"""


def networks(network_state: str | None = "active", *, limit: int = queries.LIMIT) -> list[dict[str, Any]]:
    found = queries.records(NETWORKS, {"network_state": network_state, "limit": limit})
    for row in found:
        row["counts"] = {c["status"]: c["n"] for c in row["counts"] if c["status"] is not None}
        row["total"] = sum(row["counts"].values())
        exception = row["strategy_exception"]
        # StrategyState keeps the exception as [type name, message]
        row["strategy_exception"] = ": ".join(map(str, exception)) if isinstance(exception, list) else exception
    return found


def throughput_params(at: dt.datetime) -> dict[str, str]:
    """The windows' starts as ISO text in UTC, the shape alchemiscale writes ``datetime_created`` in."""
    at = at.astimezone(dt.UTC)
    return {name: (at - length).isoformat() for name, length in WINDOWS}


def throughput(by: str, at: dt.datetime | None = None, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Results uploaded in the last hour / day / week, ok and failed, per service (``by="service"``) or scope, at
    most ``limit`` rows (``queries.LIMIT``), busiest first; ``by="all"``: the one row of the instance's totals."""
    query = {"service": THROUGHPUT_BY_SERVICE, "scope": THROUGHPUT_BY_SCOPE, "all": THROUGHPUT_ALL}[by]
    bound = queries.LIMIT if limit is None else limit
    return queries.records(query, {**throughput_params(at or queries.now()), "limit": bound})


def throughput_totals(at: dt.datetime | None = None) -> dict[str, int]:
    """Every result of the week, hour / day / week, ok and failed, counted over the whole store (not the sum of a
    table that stops at ``LIMIT`` scopes); zeros when there is none."""
    rows = throughput("all", at)
    columns = [f"{w}_{o}" for w, _ in WINDOWS for o in ("ok", "failed")]
    return {c: rows[0][c] if rows else 0 for c in columns}


def tasks_by_status() -> dict[str, int]:
    counts = dict.fromkeys(states.TASK_STATUSES, 0)
    counts.update({r["status"]: r["n"] for r in queries.records(TASKS_BY_STATUS, {}) if r["status"] is not None})
    return counts


# -- the same, kept for a minute (compute/counted.py) ------------------------------------------------------------
def scope_status(network_state: str | None = "active", *, recount: bool = False) -> Counted[list[dict[str, Any]]]:
    return counted.counted(
        "scope_status", {"network_state": network_state}, lambda: queries.scope_status(network_state), recount=recount
    )


def networks_counted(network_state: str | None = "active", *, recount: bool = False) -> Counted[list[dict[str, Any]]]:
    return counted.counted(
        "networks", {"network_state": network_state}, lambda: networks(network_state), recount=recount
    )


def anomalies(*, recount: bool = False) -> Counted[list[dict[str, Any]]]:
    return counted.counted("anomalies", {}, queries.anomalies, recount=recount)


def throughput_counted(by: str, *, recount: bool = False) -> Counted[list[dict[str, Any]]]:
    return counted.counted("throughput", {"by": by}, lambda: throughput(by), recount=recount)


def throughput_totals_counted(*, recount: bool = False) -> Counted[dict[str, int]]:
    return counted.counted("throughput_totals", {}, throughput_totals, recount=recount)


def tasks_by_status_counted(*, recount: bool = False) -> Counted[dict[str, int]]:
    return counted.counted("tasks_by_status", {}, tasks_by_status, recount=recount)
