"""The compute side of the state store, written the way alchemiscale writes it (docs/facts.md, "Compute: services,
managers, tasks and results"): the one place the compute tests build their graph.

Every statement takes parameters. Labels, property names and relationship types are alchemiscale's: a registration
is a bare ``ComputeServiceRegistration`` node with date-times; gufe objects carry ``GufeTokenizable`` and their class,
their dict's keys, ``_gufe_key``, ``_scoped_key`` and the three scope properties; a result's ``datetime_created`` is
ISO text while a task's is a date-time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import uuid
from typing import Any

from identities import store

UTC = dt.UTC


def service_id(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex}"


def _gufe(qualname: str, module: str, token: str, scope: str, /, **props: Any) -> dict[str, Any]:
    org, campaign, project = scope.split("-")
    key = f"{qualname}-{token}"
    return {
        "__qualname__": qualname,
        "__module__": module,
        ":version:": 1,
        "_json_props": [],
        **props,
        "_gufe_key": key,
        "_scoped_key": f"{key}-{scope}",
        "_org": org,
        "_campaign": campaign,
        "_project": project,
    }


def _scope_props(scope: str) -> dict[str, str]:
    org, campaign, project = scope.split("-")
    return {"_org": org, "_campaign": campaign, "_project": project}


def register_service(
    identifier: str,
    *,
    heartbeat: dt.datetime,
    registered: dt.datetime | None = None,
    failure_times: list[dt.datetime] = (),
    manager_name: str | None = None,
    hostname: str | None = None,
) -> str:
    """As ``register_computeservice``: the node from the registration's dict, then MANAGES from a manager of that
    name. (``hostname`` is for stores of a later release that keep one.)"""
    props = {
        "identifier": identifier,
        "registered": registered or heartbeat,
        "heartbeat": heartbeat,
        "failure_times": sorted(failure_times, reverse=True),
    }
    if manager_name is not None:
        props["manager_name"] = manager_name
    if hostname is not None:
        props["hostname"] = hostname
    store.cypher("CREATE (n:ComputeServiceRegistration) SET n = $props", {"props": props})
    if manager_name is not None:
        store.cypher(
            "MATCH (cmr:ComputeManagerRegistration {name: $manager_name}), "
            "(csr:ComputeServiceRegistration {manager_name: $manager_name, identifier: $identifier}) "
            "CREATE (cmr)-[rel:MANAGES]->(csr)",
            {"manager_name": manager_name, "identifier": identifier},
        )
    return identifier


def register_manager(
    name: str,
    *,
    last_status_update: dt.datetime,
    status: str = "OK",
    detail: str = "",
    saturation: float | None = 0.0,
    registered: dt.datetime | None = None,
) -> str:
    """As ``register_computemanager`` followed by ``update_compute_manager_status`` (ERROR: a detail and no
    saturation)."""
    manager_uuid = uuid.uuid4().hex
    props = {
        "name": name,
        "uuid": manager_uuid,
        "registered": registered or last_status_update,
        "last_status_update": last_status_update,
        "status": status,
        "detail": detail,
        "saturation": saturation,
    }
    store.cypher(
        "CREATE (n:ComputeManagerRegistration) SET n = $props",
        {"props": {k: v for k, v in props.items() if v is not None}},
    )
    return f"{name}-{manager_uuid}"


@dataclasses.dataclass
class Network:
    scope: str
    key: str
    transformation: str
    hub: str
    mark: str


def create_network(scope: str, *, state: str = "active", weight: float = 0.5) -> Network:
    """An AlchemicalNetwork with one Transformation, its NetworkMark and its TaskHub, as ``create_network`` and
    ``create_taskhub`` leave them (the chemistry the network depends on is left out: no page reads it)."""
    scope_props = _scope_props(scope)
    tf = _gufe("Transformation", "gufe.transformations.transformation", uuid.uuid4().hex, scope, name=None)
    an = _gufe("AlchemicalNetwork", "gufe.network", uuid.uuid4().hex, scope, name="net")
    an_sk = an["_scoped_key"]
    mark = _gufe(
        "NetworkMark", "alchemiscale.storage.models", hashlib.md5(an_sk.encode()).hexdigest(), scope, target=an_sk
    )
    mark["state"] = state
    hub = _gufe("TaskHub", "alchemiscale.storage.models", uuid.uuid4().hex, scope, network=an_sk, weight=weight)
    store.cypher(
        "CREATE (tf:GufeTokenizable:Transformation) SET tf = $tf "
        "CREATE (an:GufeTokenizable:AlchemicalNetwork) SET an = $an "
        "CREATE (an)-[:DEPENDS_ON {attribute: 'edges', index: 0, _org: $s._org, _campaign: $s._campaign, "
        "_project: $s._project}]->(tf) "
        "CREATE (nm:GufeTokenizable:NetworkMark) SET nm = $mark "
        "CREATE (nm)-[:MARKS {_org: $s._org, _campaign: $s._campaign, _project: $s._project}]->(an) "
        "CREATE (th:GufeTokenizable:TaskHub) SET th = $hub "
        "CREATE (th)-[:PERFORMS {_org: $s._org, _campaign: $s._campaign, _project: $s._project}]->(an)",
        {"tf": tf, "an": an, "mark": mark, "hub": hub, "s": scope_props},
    )
    return Network(scope, an_sk, tf["_scoped_key"], hub["_scoped_key"], mark["_scoped_key"])


def create_tasks(
    network: Network, n: int, *, status: str = "waiting", priority: int = 10, created: dt.datetime
) -> list[str]:
    """``create_tasks`` (Task nodes, PERFORMS) then ``action_tasks`` (ACTIONS from the hub), then the status set."""
    tasks = [
        _gufe(
            "Task",
            "alchemiscale.storage.models",
            uuid.uuid4().hex,
            network.scope,
            status=status,
            priority=priority,
            datetime_created=created,
            creator="alice",
        )
        for _ in range(n)
    ]
    store.cypher(
        "MATCH (tf:Transformation {_scoped_key: $tf}), (th:TaskHub {_scoped_key: $hub}) "
        "UNWIND $tasks AS props "
        "CREATE (t:GufeTokenizable:Task) SET t = props "
        "CREATE (t)-[:PERFORMS {_org: props._org, _campaign: props._campaign, _project: props._project}]->(tf) "
        "CREATE (th)-[ar:ACTIONS {weight: 0.5}]->(t) SET ar.task = t._scoped_key",
        {"tf": network.transformation, "hub": network.hub, "tasks": tasks},
    )
    return [t["_scoped_key"] for t in tasks]


def claim(identifier: str, task: str, claimed: dt.datetime) -> None:
    """alchemiscale's claim: only an unclaimed task, the CLAIMS relationship and ``running`` in one statement."""
    store.cypher(
        "MATCH (t:Task {_scoped_key: $task}) WHERE NOT (t)<-[:CLAIMS]-(:ComputeServiceRegistration) "
        "WITH t MATCH (csreg:ComputeServiceRegistration {identifier: $identifier}) "
        "CREATE (t)<-[cl:CLAIMS {claimed: $claimed}]-(csreg) SET t.status = 'running'",
        {"task": task, "identifier": identifier, "claimed": claimed},
    )


def claim_v08(identifier: str, task: str, claimed: dt.datetime) -> None:
    """alchemiscale 0.8's claim (its ``CLAIM_QUERY``): as :func:`claim`, plus the attempt's ``TaskProvenance`` with
    what the registration says (absent properties stay absent) and the status change dated and its reason cleared."""
    store.cypher(
        "MATCH (t:Task {_scoped_key: $task}) WHERE NOT (t)<-[:CLAIMS]-(:ComputeServiceRegistration) "
        "WITH t MATCH (csreg:ComputeServiceRegistration {identifier: $identifier}) "
        "CREATE (t)<-[cl:CLAIMS {claimed: datetime($datetimestr)}]-(csreg) "
        "CREATE (tp:TaskProvenance {compute_service_id: $identifier, hostname: csreg.hostname, "
        "manager_name: csreg.manager_name, datetime_claimed: datetime($datetimestr), _org: t._org, "
        "_campaign: t._campaign, _project: t._project}) "
        "CREATE (tp)-[:PROVENANCE_OF]->(t) "
        "SET t.datetime_status_changed = CASE WHEN t.status = 'running' THEN t.datetime_status_changed "
        "ELSE datetime($datetimestr) END, t.reason = CASE WHEN t.status = 'running' THEN t.reason ELSE null END, "
        "t.status = 'running'",
        {"task": task, "identifier": identifier, "datetimestr": claimed.astimezone(UTC).isoformat()},
    )


def set_status_v08(task: str, status: str, at: dt.datetime, reason: str | None = None) -> None:
    """alchemiscale 0.8's status write (``_status_write``): the change dated, the reason set or cleared."""
    store.cypher(
        "MATCH (t:Task {_scoped_key: $task}) "
        "SET t.datetime_status_changed = CASE WHEN t.status = $status THEN t.datetime_status_changed "
        "ELSE datetime($statuschange_time) END, "
        "t.reason = CASE WHEN t.status = $status THEN t.reason ELSE $reason END, t.status = $status",
        {"task": task, "status": status, "statuschange_time": at.astimezone(UTC).isoformat(), "reason": reason},
    )


def add_result(task: str, *, ok: bool, creator: str, created: dt.datetime, tracebacks: list[str] | None = None) -> str:
    """``set_task_result`` (a ProtocolDAGResultRef, RESULTS_IN) and, for a failure, ``add_..._tracebacks``. The task's
    status is the caller's: tests also need the states alchemiscale leaves behind when something went wrong."""
    scope = task.split("-", 2)[2]
    ref = _gufe(
        "ProtocolDAGResultRef",
        "alchemiscale.storage.models",
        uuid.uuid4().hex,
        scope,
        location=f"protocoldagresult/{uuid.uuid4().hex}",
        obj_key=f"ProtocolDAGResult-{uuid.uuid4().hex}",
        scope=scope,
        ok=ok,
        datetime_created=created.astimezone(UTC).isoformat(),
        creator=creator,
    )
    store.cypher(
        "MATCH (t:Task {_scoped_key: $task}) CREATE (r:GufeTokenizable:ProtocolDAGResultRef) SET r = $ref "
        "CREATE (t)-[:RESULTS_IN {_org: r._org, _campaign: r._campaign, _project: r._project}]->(r)",
        {"task": task, "ref": ref},
    )
    if tracebacks:
        tb = _gufe(
            "Tracebacks",
            "alchemiscale.storage.models",
            uuid.uuid4().hex,
            scope,
            tracebacks=tracebacks,
            source_keys=[f"ProtocolUnit-{uuid.uuid4().hex}" for _ in tracebacks],
            failure_keys=[f"ProtocolUnitFailure-{uuid.uuid4().hex}" for _ in tracebacks],
        )
        store.cypher(
            "MATCH (r:ProtocolDAGResultRef {_scoped_key: $ref}) CREATE (tb:GufeTokenizable:Tracebacks) SET tb = $tb "
            "CREATE (tb)-[:DETAILS]->(r)",
            {"ref": ref["_scoped_key"], "tb": tb},
        )
    return ref["_scoped_key"]


def set_strategy(network: Network, *, status: str = "awake", exception: list[str] | None = None) -> None:
    """``set_network_strategy``: a strategy node and PROGRESSES carrying the StrategyState's dict."""
    strategy = _gufe("ConnectivityStrategy", "stratocaster.strategies", uuid.uuid4().hex, network.scope)
    state = {
        "mode": "partial",
        "status": status,
        "iterations": 3,
        "sleep_interval": 3600,
        "last_iteration_result_count": 0,
        "max_tasks_per_transformation": 3,
        "task_scaling": "exponential",
    }
    if exception is not None:
        state |= {"exception": exception, "traceback": "Traceback (most recent call last): ..."}
    store.cypher(
        "MATCH (an:AlchemicalNetwork {_scoped_key: $an}) CREATE (s:GufeTokenizable:ConnectivityStrategy) "
        "SET s = $strategy CREATE (s)-[r:PROGRESSES]->(an) SET r = $state",
        {"an": network.key, "strategy": strategy, "state": state},
    )


def seed_fleet(now: dt.datetime) -> dict[str, Any]:
    """A small fleet with one of everything the pages tell apart (ages relative to ``now``):

    - managers: ``mgr-ok`` (OK, saturation 0.4) and ``mgr-bad`` (ERROR);
    - services: ``alive`` (under mgr-ok, 2 claims), ``stale`` (heartbeat 2 h ago, 1 claim), ``denied`` (4 failures
      within the last 10 minutes and an old one; under mgr-bad, which is in ERROR);
    - acme-c1-p1, active: running 2 (alive) + 1 (stale) + 1 unclaimed; waiting 3, one already with a good result;
      complete 2; error 1 with a traceback uploaded by ``denied``;
    - acme-c2-p2, inactive, its strategy in error: running 1 (alive), waiting 2.
    """
    ago = lambda **kw: now - dt.timedelta(**kw)  # noqa: E731
    register_manager("mgr-ok", last_status_update=ago(minutes=1), saturation=0.4)
    register_manager(
        "mgr-bad", last_status_update=ago(minutes=5), status="ERROR", detail="node pool exhausted", saturation=None
    )
    alive = register_service(service_id("alive"), heartbeat=ago(seconds=30), manager_name="mgr-ok", hostname="gpu-01")
    stale = register_service(service_id("stale"), heartbeat=ago(hours=2), registered=ago(days=1))
    denied = register_service(
        service_id("denied"),
        heartbeat=ago(seconds=20),
        failure_times=[ago(minutes=m) for m in (1, 2, 3, 4)] + [ago(hours=1)],
        manager_name="mgr-bad",
    )
    active = create_network("acme-c1-p1")
    inactive = create_network("acme-c2-p2", state="inactive", weight=0.2)
    running = create_tasks(active, 4, created=ago(hours=3))
    for task in running[:2]:
        claim(alive, task, ago(minutes=20))
    claim(stale, running[2], ago(hours=3))
    store.cypher("MATCH (t:Task {_scoped_key: $t}) SET t.status = 'running'", {"t": running[3]})  # lost its claim
    waiting = create_tasks(active, 3, created=ago(hours=2), priority=5)
    add_result(waiting[0], ok=True, creator=alive, created=ago(minutes=30))
    complete = create_tasks(active, 2, status="complete", created=ago(days=1))
    for task in complete:
        add_result(task, ok=True, creator=alive, created=ago(hours=1))
    errored = create_tasks(active, 1, status="error", created=ago(days=1))
    add_result(errored[0], ok=False, creator=denied, created=ago(minutes=2), tracebacks=["Traceback: boom"])
    off = create_tasks(inactive, 1, created=ago(hours=1))
    claim(alive, off[0], ago(minutes=5))
    off_waiting = create_tasks(inactive, 2, created=ago(hours=1))
    set_strategy(inactive, status="error", exception=["ValueError", "no edges left"])
    set_strategy(active)
    return {
        "services": {"alive": alive, "stale": stale, "denied": denied},
        "networks": {"active": active, "inactive": inactive},
        "tasks": {
            "running_alive": running[:2],
            "running_stale": running[2],
            "running_unclaimed": running[3],
            "waiting": waiting,
            "waiting_done": waiting[0],
            "complete": complete,
            "error": errored[0],
            "running_inactive": off[0],
            "waiting_inactive": off_waiting,
        },
    }
