"""The fleet's queries against a real Neo4j holding a fleet written as alchemiscale writes it
(tests/compute_support.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from compute import queries, states, status
from identities import store
from tests.compute_support import register_service, seed_fleet, service_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet():
    now = queries.now()
    return now, seed_fleet(now)


def test_services_states_filters_and_sort(fleet):
    now, world = fleet
    ids = world["services"]
    listed = {s["identifier"]: s for s in queries.services(at=now)}
    assert {i: listed[i]["state"] for i in ids.values()} == {
        ids["alive"]: states.ALIVE,
        ids["stale"]: states.STALE,
        ids["denied"]: states.DENIED,
    }
    alive, denied = listed[ids["alive"]], listed[ids["denied"]]
    assert (alive["name"], alive["hostname"], alive["manager"], alive["claims"]) == ("alive", "gpu-01", "mgr-ok", 3)
    assert (denied["failures"], denied["failures_listed"]) == (4, 5)  # the hour-old failure is forgiven
    assert listed[ids["stale"]]["heartbeat_age"] > dt.timedelta(hours=1, minutes=59)
    # the filter in Cypher and the state in Python agree, for every state, also at the edges: as many recent
    # failures as allowed, a heartbeat just inside the expiry
    edge = register_service(
        service_id("edge"), heartbeat=now - dt.timedelta(seconds=1790), failure_times=[now, now, now]
    )
    assert queries.service(edge, at=now)["state"] == states.ALIVE
    for state in states.SERVICE_STATES:
        found = queries.services(state=state, at=now)
        assert {s["state"] for s in found} == {state}
        assert len(found) == (2 if state == states.ALIVE else 1)
    assert [s["identifier"] for s in queries.services(search="DENIED", at=now)] == [ids["denied"]]
    assert [s["identifier"] for s in queries.services(search="gpu-0", at=now)] == [ids["alive"]]
    assert [s["identifier"] for s in queries.services(manager="mgr-bad", at=now)] == [ids["denied"]]
    by_claims = [s["identifier"] for s in queries.services(order="claims", descending=True, at=now)]
    assert by_claims[0] == ids["alive"]
    assert [s["identifier"] for s in queries.services(order="heartbeat", at=now, limit=1)] == [ids["stale"]]
    with pytest.raises(ValueError):
        queries.services(order="s.identifier; MATCH (n) DETACH DELETE n")
    assert queries.services_by_state(now) == {"alive": 2, "stale": 1, "denied": 1}


def test_one_service_and_its_claims(fleet):
    now, world = fleet
    page = queries.service(world["services"]["alive"], at=now)
    assert page["managed_by"] == "mgr-ok"
    claimed = {c["task"]: c for c in page["claimed"]}
    assert set(claimed) == {*world["tasks"]["running_alive"], world["tasks"]["running_inactive"]}
    first = claimed[world["tasks"]["running_alive"][0]]
    assert (first["scope"], first["status"]) == ("acme-c1-p1", "running")
    assert dt.timedelta(minutes=19) < first["claim_age"] < dt.timedelta(minutes=21)
    assert queries.service("nobody-" + "0" * 32) is None


def test_managers_error_first_with_their_services(fleet):
    now, world = fleet
    found = queries.managers(at=now)
    assert [(m["name"], m["status"]) for m in found] == [("mgr-bad", "ERROR"), ("mgr-ok", "OK")]
    assert found[0]["detail"] == "node pool exhausted" and found[0]["services"] == [world["services"]["denied"]]
    assert found[1]["saturation"] == 0.4 and found[1]["services"] == [world["services"]["alive"]]
    assert not any(m["expired"] for m in found)


def test_scope_status_and_its_task_lists(fleet):
    now, world = fleet
    active = {r["scope"]: r["counts"] for r in queries.scope_status()}
    assert active == {"acme-c1-p1": {"running": 4, "waiting": 3, "complete": 2, "error": 1}}
    every = {r["scope"]: r["counts"] for r in queries.scope_status(None)}
    assert every["acme-c2-p2"] == {"running": 1, "waiting": 2}
    errored = queries.scope_tasks("acme", "c1", "p1", "error", at=now)
    assert [t["task"] for t in errored] == [world["tasks"]["error"]]
    assert errored[0]["failed_on"] == world["services"]["denied"] and errored[0]["tracebacks"] == ["Traceback: boom"]
    running = {t["task"]: t["claimant"] for t in queries.scope_tasks("acme", "c1", "p1", "running", at=now)}
    assert running[world["tasks"]["running_stale"]] == world["services"]["stale"]
    assert running[world["tasks"]["running_unclaimed"]] is None
    assert queries.scope_tasks("acme", "c2", "p2", "waiting") == []  # inactive network, active asked
    assert len(queries.scope_tasks("acme", "c2", "p2", "waiting", network_state=None)) == 2
    assert len(queries.scope_tasks("acme", "c1", "p1", "waiting", limit=2)) == 2


def test_anomalies_count_sample_and_cypher(fleet):
    now, world = fleet
    found = {a["name"]: a for a in queries.anomalies(now)}
    tasks = world["tasks"]
    assert {n: a["count"] for n, a in found.items()} == {
        "running_unclaimed": 1,
        "stale_claims": 1,
        "waiting_with_result": 1,
        "running_inactive_network": 1,
        "strategy_errors": 1,
        "managers_error": 1,
    }
    assert found["running_unclaimed"]["sample"] == [{"task": tasks["running_unclaimed"]}]
    assert found["stale_claims"]["sample"][0]["service"] == world["services"]["stale"]
    assert found["waiting_with_result"]["sample"] == [{"task": tasks["waiting_done"]}]
    assert found["running_inactive_network"]["sample"] == [{"task": tasks["running_inactive"]}]
    assert found["strategy_errors"]["sample"][0]["exception"] == ["ValueError", "no edges left"]
    assert found["managers_error"]["sample"][0]["detail"] == "node pool exhausted"
    # the Cypher shown is the one that ran: running it again with the parameters shown gives the same count
    for a in found.values():
        assert store.cypher(a["cypher"], a["params"])[0][0] == a["count"]
    capped = {a["name"]: a for a in queries.anomalies(now, cap=1)}
    assert capped["stale_claims"]["capped"] and capped["stale_claims"]["count"] == 1


def test_status_line(fleet):
    line = status.check_fleet()
    assert not line.ok
    assert "1 alive, 1 stale, 1 denied" in line.detail and "1 claims held by stale services" in line.detail


def test_status_line_on_an_empty_store():
    line = status.check_fleet()
    assert line.ok and line.detail.startswith("0 registered")
