"""The Docker target says clearly what is wrong: engine unreachable, Neo4j container missing, image absent, the
deployment's database network missing."""

import dataclasses
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from devtools.alchemiscale_standin import IMAGE_TAG as STANDIN_IMAGE
from operations.targets import TargetError, get_target
from operations.targets.docker import PROJECT_LABEL, SERVICE_LABEL, DockerTarget
from operations.upgrades.alchemiscale_schema import ARGS
from tests.docker_fixtures import IMAGE, docker_client


def _target(**kw) -> DockerTarget:
    base = get_target(DockerTarget.name)
    opts = dict(project=base.project, service=base.service, docker_host=base.docker_host)
    opts.update(kw)
    return DockerTarget(base.connection, base.backup_dir, 5, **opts)


def test_unreachable_engine_is_named(tmp_path: Path):
    socket = tmp_path / "no-such-docker.sock"
    target = _target(docker_host=f"unix://{socket}")
    with pytest.raises(TargetError, match=rf"Docker engine at unix://{socket} cannot be reached"):
        target.is_up()
    # Previews and descriptions still work without the engine, with placeholders instead of guesses.
    assert f"unix://{socket}" in target.describe()
    line = target.admin_command(["database", "dump", "neo4j", "--to-path=/backups"])
    assert line[:4] == ["docker", "run", "--rm", "--network"] and "NEO4J_DOCKER_IMAGE" in line


def test_missing_container_names_project_and_service():
    target = _target(project="portal-test-nobody-here", service="neo4j")
    with pytest.raises(
        TargetError,
        match=r"no container of compose project 'portal-test-nobody-here', service "
        r"'neo4j' exists",
    ):
        target.stop()
    with pytest.raises(TargetError, match="no container"):
        target.neo4j_version()


def test_absent_image_is_named(docker_neo4j_container):
    target = _target(admin_image="portal-test/no-such-image:0.0")
    with pytest.raises(
        TargetError,
        match=r"the image portal-test/no-such-image:0.0 \(PORTAL_NEO4J_ADMIN_IMAGE\) is "
        r"not on",
    ):
        target.admin(["--version"])


def test_settings_pick_the_test_deployment():
    target = get_target(DockerTarget.name)
    assert target.project == settings.DOCKER_PROJECT and target.project.startswith("portal-test")
    assert target.connection.url == settings.DOCKER_NEO4J_URL != settings.NEO4J_URL


def test_missing_database_network_is_named(docker_neo4j_container):
    """A deployment whose Neo4j is not on host networking: the job needs its database network, which must exist.

    Only a created (never started) container with no network stands in for it: the test engine has no bridge
    networks and must not get any (docs/facts.md).
    """
    project = f"{settings.DOCKER_PROJECT}-nonet"
    client = docker_client()
    container = client.containers.create(
        IMAGE,
        network_mode="none",
        name=f"{project}_neo4j_1-{os.getpid()}",
        labels={PROJECT_LABEL: project, SERVICE_LABEL: "neo4j"},
    )
    try:
        target = _target(project=project, alchemiscale_image=STANDIN_IMAGE)
        assert target.alchemiscale_cli.problems() == [
            f"the deployment's database network {project}_db (PORTAL_DOCKER_DB_NETWORK) does not exist on "
            f"{target.engine}; is the deployment up (docker-compose up neo4j)?"
        ]
        with pytest.raises(TargetError, match=rf"network {project}_db \(PORTAL_DOCKER_DB_NETWORK\) does not exist"):
            target.alchemiscale_cli.run(ARGS)
        # The preview is still the guide's line: the database network and the service's name.
        assert target.alchemiscale_cli.command(ARGS) == [
            "docker",
            "run",
            "--rm",
            "--network",
            f"{project}_db",
            "-e",
            "NEO4J_URL=bolt://neo4j:7687",
            "-e",
            f"NEO4J_USER={settings.NEO4J_USER}",
            "-e",
            "NEO4J_PASS",
            "-e",
            f"NEO4J_DBNAME={settings.NEO4J_DBNAME}",
            STANDIN_IMAGE,
            "database",
            "migrate",
            "v03-to-v04",
        ]
        named = _target(project=project, alchemiscale_image=STANDIN_IMAGE, db_network="portal-test-elsewhere_db")
        assert "network portal-test-elsewhere_db (PORTAL_DOCKER_DB_NETWORK)" in named.alchemiscale_cli.problems()[0]
    finally:
        container.remove(force=True)


def test_a_crash_looping_neo4j_is_reported_with_its_output():
    """Under compose's `restart: unless-stopped` a Neo4j that exits at start is brought back again and again; the
    wait must say so at once, with the container's output, rather than wait out its whole limit."""
    from tests.docker_fixtures import remove_deployment

    client = docker_client()
    project = f"{settings.DOCKER_PROJECT}-crash"
    remove_deployment(client, project)
    base = get_target(DockerTarget.name)
    port = urlsplit(base.connection.url).port + 5  # nothing listens there
    target = DockerTarget(
        dataclasses.replace(base.connection, url=f"bolt://127.0.0.1:{port}"),
        base.backup_dir,
        120,
        project=project,
        service="neo4j",
        docker_host=base.docker_host,
    )
    # The image's entry point refuses an initial user other than neo4j and exits 1, before Java starts.
    container = client.containers.create(
        IMAGE,
        name=f"{project}_neo4j_1",
        network_mode="host",
        restart_policy={"Name": "unless-stopped"},
        labels={PROJECT_LABEL: project, SERVICE_LABEL: "neo4j"},
        environment={"NEO4J_AUTH": "bob/unused-1"},
    )
    try:
        container.start()
        with pytest.raises(
            TargetError,
            match=r"(?s)(exited \(code 1\) and Docker restarted it|is exited).*"
            r"NEO4J_AUTH: the user must be neo4j, got bob",
        ):
            target.wait_for_bolt()
    finally:
        remove_deployment(client, project)
