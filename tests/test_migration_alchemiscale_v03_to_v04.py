"""The alchemiscale v0.3 to v0.4 schema migration through the configured command (here the documented stand-in)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.conf import settings

from identities import store
from operations.models import AppliedMigration
from operations.runner import OperationFailed, execute
from operations.upgrades import services
from operations.upgrades.alchemiscale_standin import network_mark_properties

NAME = "alchemiscale-v0.3-to-v0.4"


def make_networks() -> None:
    """Four v0.3 networks in two scopes; one already has its NetworkMark (as v0.4 would have created it)."""
    for i, (org, campaign, project) in enumerate([("o", "c", "p"), ("o", "c", "p"), ("o", "c", "q"), ("x", "y", "z")]):
        key = f"AlchemicalNetwork-{i:032d}-{org}-{campaign}-{project}"
        store.cypher("CREATE (:GufeTokenizable:AlchemicalNetwork {_scoped_key: $k, _org: $o, _campaign: $c, "
                     "_project: $p, name: $n})", {"k": key, "o": org, "c": campaign, "p": project, "n": f"net{i}"})
        if i == 0:
            store.cypher("MATCH (an:AlchemicalNetwork {_scoped_key: $k}) CREATE (nm:GufeTokenizable:NetworkMark) "
                         "SET nm = $props CREATE (nm)-[:MARKS {_org: $o, _campaign: $c, _project: $p}]->(an)",
                         {"k": key, "props": network_mark_properties(key, org, campaign, project), "o": org,
                          "c": campaign, "p": project})


def marks_per_network() -> dict[str, int]:
    rows = store.cypher("MATCH (an:AlchemicalNetwork) OPTIONAL MATCH (an)<-[:MARKS]-(nm:NetworkMark) "
                        "RETURN an._scoped_key, count(nm)")
    return dict(rows)


def graph() -> tuple[int, int, list]:
    marks = store.cypher("MATCH (nm:NetworkMark)-[r:MARKS]->(an) RETURN nm._scoped_key, nm.target, nm.state, "
                         "nm._org, nm._campaign, nm._project, r._org, r._project, an._scoped_key "
                         "ORDER BY nm._scoped_key")
    return store.node_count(), store.relationship_count(), marks


@pytest.mark.django_db
def test_schema_migration_adds_missing_marks_and_is_recorded(alice):
    make_networks()
    assert sorted(marks_per_network().values()) == [0, 0, 0, 1]

    run = execute(services.request_migration(NAME, confirmation=NAME, user=alice, label="alice").pk)
    assert run.status == "succeeded", run.error

    assert set(marks_per_network().values()) == {1}
    nodes, rels, marks = graph()
    assert (nodes, rels) == (8, 4)
    for mark_key, target, state, org, campaign, project, r_org, r_project, network in marks:
        assert target == network and state == "active"
        assert network.endswith(f"-{org}-{campaign}-{project}") and (r_org, r_project) == (org, project)
        assert mark_key.startswith("NetworkMark-") and mark_key.endswith(f"-{org}-{campaign}-{project}")
    output = run.steps.get(name="run alchemiscale's migration").output
    assert "3 NetworkMark(s) added" in output and "Migration completed without errors." in output

    record = AppliedMigration.objects.get(name=NAME)
    assert (record.outcome, record.by_label, record.run_id) == ("applied", "alice", run.pk)
    assert record.details["marks_added"] == 3 and record.details["standin"] is True

    # the portal refuses a second run; alchemiscale's command itself run again changes nothing
    with pytest.raises(OperationFailed, match="already applied"):
        services.request_migration(NAME, confirmation=NAME, user=alice, label="alice")
    before = graph()
    env = {"NEO4J_URL": settings.NEO4J_URL, "NEO4J_USER": settings.NEO4J_USER, "NEO4J_PASS": settings.NEO4J_PASS,
           "NEO4J_DBNAME": settings.NEO4J_DBNAME, "PATH": "/usr/bin:/bin"}
    again = subprocess.run([sys.executable, "-m", "operations.upgrades.alchemiscale_standin", "database", "migrate",
                            "v03-to-v04"], env=env, cwd=settings.BASE_DIR, capture_output=True, text=True)
    assert again.returncode == 0 and "0 NetworkMark(s) added" in again.stdout
    assert graph() == before


@pytest.mark.django_db
def test_a_failing_command_is_reported_and_recorded(alice, settings):
    make_networks()
    settings.ALCHEMISCALE_CLI = f"{sys.executable} -c 'import sys; print(\"no gufe here\"); sys.exit(3)'"
    run = execute(services.request_migration(NAME, confirmation=NAME, user=alice, label="alice").pk)
    assert run.status == "failed"
    assert "exited with 3" in run.error and "no gufe here" in run.error
    assert sorted(marks_per_network().values()) == [0, 0, 0, 1]
    assert AppliedMigration.objects.get(name=NAME).outcome == "failed"


@pytest.mark.django_db
def test_typed_confirmation_is_required(alice):
    with pytest.raises(OperationFailed, match="to confirm"):
        services.request_migration(NAME, confirmation="yes", user=alice, label="alice")
