"""The alchemiscale v0.3 to v0.4 schema migration, on the local and on the Docker target.

alchemiscale itself cannot run here (gufe is not on PyPI, ghcr.io is not reachable), so both targets run a
STAND-IN: the local target the command ``devtools/alchemiscale_standin.py`` (``scripts/test.sh`` sets
``PORTAL_ALCHEMISCALE_CLI`` and ``PORTAL_ALCHEMISCALE_CLI_STANDIN``), the Docker target
``alchemiscale-server-standin:v0.4.0`` (``scripts/standin_image.py``: the same script as the entry point of an image)
in a one-off container, on the test Neo4j container's host network (no bridge networks exist on the test engine).
"""

from __future__ import annotations

import sys

import pytest

from devtools.alchemiscale_standin import IMAGE_TAG as STANDIN_IMAGE
from devtools.alchemiscale_standin import network_mark_properties
from operations.models import AppliedMigration
from operations.runs.contract import OperationFailed
from operations.runs.engine import execute
from operations.targets import Target, get_target
from operations.targets.docker import JOB_LABEL, DockerTarget
from operations.upgrades import registry, services
from operations.upgrades.alchemiscale_schema import ARGS
from tests.docker_fixtures import IMAGE as NEO4J_IMAGE
from tests.docker_fixtures import docker_client
from tests.operations.conftest import target  # noqa: F401  (fixture: every test here runs on local and docker)

NAME = "alchemiscale-v0.3-to-v0.4"


def make_networks(t: Target) -> None:
    """Four v0.3 networks in two scopes; one already has its NetworkMark (as v0.4 would have created it)."""
    for i, (org, campaign, project) in enumerate([("o", "c", "p"), ("o", "c", "p"), ("o", "c", "q"), ("x", "y", "z")]):
        key = f"AlchemicalNetwork-{i:032d}-{org}-{campaign}-{project}"
        t.query(
            "CREATE (:GufeTokenizable:AlchemicalNetwork {_scoped_key: $k, _org: $o, _campaign: $c, "
            "_project: $p, name: $n})",
            {"k": key, "o": org, "c": campaign, "p": project, "n": f"net{i}"},
        )
        if i == 0:
            t.query(
                "MATCH (an:AlchemicalNetwork {_scoped_key: $k}) CREATE (nm:GufeTokenizable:NetworkMark) "
                "SET nm = $props CREATE (nm)-[:MARKS {_org: $o, _campaign: $c, _project: $p}]->(an)",
                {
                    "k": key,
                    "props": network_mark_properties(key, org, campaign, project),
                    "o": org,
                    "c": campaign,
                    "p": project,
                },
            )


def marks_per_network(t: Target) -> dict[str, int]:
    rows = t.query(
        "MATCH (an:AlchemicalNetwork) OPTIONAL MATCH (an)<-[:MARKS]-(nm:NetworkMark) RETURN an._scoped_key, count(nm)"
    )
    return dict(rows)


def graph(t: Target) -> tuple[int, int, list]:
    marks = t.query(
        "MATCH (nm:NetworkMark)-[r:MARKS]->(an) RETURN nm._scoped_key, nm.target, nm.state, "
        "nm._org, nm._campaign, nm._project, r._org, r._project, an._scoped_key "
        "ORDER BY nm._scoped_key"
    )
    return (*t.counts(), marks)


def job_containers(t: Target) -> list:
    """One-off containers of the Docker target still on the engine (none may outlive its job)."""
    if not isinstance(t, DockerTarget):
        return []
    return docker_client().containers.list(all=True, filters={"label": f"{JOB_LABEL}={t.project}/{t.service}"})


@pytest.fixture
def migration_target(target, settings) -> Target:  # noqa: F811
    """The target, configured for the stand-in: the Docker target's image setting names the stand-in image."""
    settings.ALCHEMISCALE_IMAGE = STANDIN_IMAGE
    yield get_target(target.name)
    assert job_containers(target) == [], "a one-off alchemiscale container outlived its job"


@pytest.mark.django_db
def test_schema_migration_adds_missing_marks_and_is_recorded(alice, migration_target):
    t = migration_target
    make_networks(t)
    assert sorted(marks_per_network(t).values()) == [0, 0, 0, 1]

    run = execute(services.request_migration(NAME, confirmation=NAME, user=alice, label="alice").pk)
    assert run.status == "succeeded", run.error
    assert run.target == t.name

    assert set(marks_per_network(t).values()) == {1}
    nodes, rels, marks = graph(t)
    assert (nodes, rels) == (8, 4)
    for mark_key, marked, state, org, campaign, project, r_org, r_project, network in marks:
        assert marked == network and state == "active"
        assert network.endswith(f"-{org}-{campaign}-{project}") and (r_org, r_project) == (org, project)
        assert mark_key.startswith("NetworkMark-") and mark_key.endswith(f"-{org}-{campaign}-{project}")
    step = run.steps.get(name="run alchemiscale's migration")
    assert "3 NetworkMark(s) added" in step.output and "Migration completed without errors." in step.output
    assert step.description.startswith("the STAND-IN for alchemiscale")

    record = AppliedMigration.objects.get(name=NAME)
    assert (record.outcome, record.by_label, record.run_id, record.target) == ("applied", "alice", run.pk, t.name)
    assert record.details["marks_added"] == 3 and record.details["standin"] is True
    command = record.details["command"]
    assert command == t.alchemiscale_cli.command(ARGS) == step.commands[0] and command[-3:] == ARGS
    assert t.connection.password not in " ".join(command)
    if t.name == "docker":
        # The guide's line, with the stand-in image, on the Neo4j container's own (host) network.
        assert command[:5] == ["docker", "run", "--rm", "--network", "host"] and STANDIN_IMAGE in command
        assert f"NEO4J_URL={t.connection.url}" in command and "NEO4J_PASS" in command
    else:
        assert "devtools.alchemiscale_standin" in " ".join(command)

    # the portal refuses a second run; alchemiscale's command itself run again changes nothing
    with pytest.raises(OperationFailed, match="already applied"):
        services.request_migration(NAME, confirmation=NAME, user=alice, label="alice")
    before = graph(t)
    again = t.alchemiscale_cli.run(ARGS)
    assert again.ok and "0 NetworkMark(s) added" in again.output, again.output
    assert graph(t) == before


@pytest.mark.django_db
def test_a_failing_command_is_reported_and_recorded(alice, migration_target, settings):
    t = migration_target
    make_networks(t)
    if t.name == "docker":
        # An image whose entry point does not know alchemiscale's command: the container exits non-zero.
        settings.ALCHEMISCALE_IMAGE, exit_code, said = NEO4J_IMAGE, 127, "database"
    else:
        settings.ALCHEMISCALE_CLI = f"{sys.executable} -c 'import sys; print(\"no gufe here\"); sys.exit(3)'"
        settings.ALCHEMISCALE_CLI_STANDIN = False
        exit_code, said = 3, "no gufe here"
    run = execute(services.request_migration(NAME, confirmation=NAME, user=alice, label="alice").pk)
    assert run.status == "failed"
    assert f"exited with {exit_code}" in run.error and said in run.error, run.error
    assert sorted(marks_per_network(t).values()) == [0, 0, 0, 1]
    assert t.counts() == (5, 1)
    record = AppliedMigration.objects.get(name=NAME)
    assert record.outcome == "failed" and record.details["standin"] is False
    assert record.details["command"] == get_target(t.name).alchemiscale_cli.command(ARGS)


@pytest.mark.django_db
def test_an_absent_image_is_a_precheck_that_says_how_to_pull_it(alice, docker_neo4j, settings):
    settings.OPERATIONS_TARGET = DockerTarget.name
    make_networks(docker_neo4j)
    settings.ALCHEMISCALE_IMAGE = "portal-test/no-such-alchemiscale-server:v0.4.0"
    status = registry.status(registry.get(NAME), get_target())
    assert not status.applies
    assert (
        "the alchemiscale-server image portal-test/no-such-alchemiscale-server:v0.4.0 (PORTAL_ALCHEMISCALE_IMAGE) "
        "is not on"
    ) in status.reason
    assert "pull it: docker pull portal-test/no-such-alchemiscale-server:v0.4.0" in status.reason
    with pytest.raises(OperationFailed, match="docker pull portal-test/no-such-alchemiscale-server"):
        services.request_migration(NAME, confirmation=NAME, user=alice, label="alice")
    assert sorted(marks_per_network(docker_neo4j).values()) == [0, 0, 0, 1]
    assert not AppliedMigration.objects.exists()


@pytest.mark.django_db
def test_typed_confirmation_is_required(alice):
    with pytest.raises(OperationFailed, match="to confirm"):
        services.request_migration(NAME, confirmation="yes", user=alice, label="alice")
