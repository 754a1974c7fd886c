"""``manage.py compute``: the same answers as the pages, as lines and as JSON."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from compute import queries
from compute.models import FleetAuditEntry
from tests.compute_support import seed_fleet

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("compute", *args, stdout=out)
    return out.getvalue()


def test_every_view_as_lines_and_json():
    fleet = seed_fleet(queries.now())
    ids, tasks = fleet["services"], fleet["tasks"]

    services = json.loads(run("services", "--json"))
    assert {s["identifier"]: s["state"] for s in services} == {
        ids["alive"]: "alive",
        ids["stale"]: "stale",
        ids["denied"]: "denied",
    }
    stale_lines = run("services", "--state", "stale").splitlines()
    assert len(stale_lines) == 1 and stale_lines[0].startswith(ids["stale"] + "  stale")
    assert json.loads(run("services", "--sort=-claims", "--json"))[0]["identifier"] == ids["alive"]
    with pytest.raises(CommandError):
        run("services", "--sort", "nonsense")

    managers = json.loads(run("managers", "--json"))
    assert [(m["name"], m["status"]) for m in managers] == [("mgr-bad", "ERROR"), ("mgr-ok", "OK")]
    assert "detail: node pool exhausted" in run("managers").splitlines()[0]

    counts = json.loads(run("tasks", "--json"))
    assert counts == [
        {
            "scope": "acme-c1-p1",
            "org": "acme",
            "campaign": "c1",
            "project": "p1",
            "counts": {"complete": 2, "error": 1, "running": 4, "waiting": 3},
            "total": 10,
        }
    ]
    assert "acme-c2-p2" in run("tasks", "--network-state", "any")
    listed = json.loads(run("tasks", "--scope", "acme-c1-p1", "--status", "error", "--json"))
    assert [t["task"] for t in listed] == [tasks["error"]] and listed[0]["tracebacks"] == ["Traceback: boom"]
    with pytest.raises(CommandError):
        run("tasks", "--scope", "acme-c1")

    anomalies = {a["name"]: a for a in json.loads(run("anomalies", "--json"))}
    assert anomalies["stale_claims"]["count"] == 1 and "MATCH" in anomalies["stale_claims"]["cypher"]
    text = run("anomalies")
    assert "Claims held by stale services: 1" in text and tasks["running_unclaimed"] in text


def test_an_empty_fleet_says_so():
    assert run("services").strip() == "no compute service registered"
    assert run("managers").strip() == "no compute manager registered"
    assert all(a["count"] == 0 for a in json.loads(run("anomalies", "--json")))


def test_expire_stale_lists_then_expires_with_yes():
    fleet = seed_fleet(queries.now())
    stale, task = fleet["services"]["stale"], fleet["tasks"]["running_stale"]
    listed = run("expire-stale")
    assert "would expire" in listed and stale in listed
    assert FleetAuditEntry.objects.count() == 0 and stale in {s["identifier"] for s in queries.services()}
    done = json.loads(run("expire-stale", "--yes", "--json"))
    assert done["removed"] == {stale: [task]}
    assert stale not in {s["identifier"] for s in queries.services()}
    assert FleetAuditEntry.objects.get().actor_kind == "cli"
    assert run("expire-stale", "--yes").strip() == "no registration is stale"
