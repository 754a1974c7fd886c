"""The Docker target says clearly what is wrong: engine unreachable, Neo4j container missing, image absent."""

from pathlib import Path

import pytest
from django.conf import settings

from operations.targets import TargetError, get_target
from operations.targets.docker import DockerTarget


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
    with pytest.raises(TargetError, match=r"no container of compose project 'portal-test-nobody-here', service "
                                          r"'neo4j' exists"):
        target.stop()
    with pytest.raises(TargetError, match="no container"):
        target.neo4j_version()


def test_absent_image_is_named(docker_neo4j_container):
    target = _target(admin_image="portal-test/no-such-image:0.0")
    with pytest.raises(TargetError, match=r"the image portal-test/no-such-image:0.0 \(PORTAL_NEO4J_ADMIN_IMAGE\) is "
                                          r"not on"):
        target.admin(["--version"])


def test_settings_pick_the_test_deployment():
    target = get_target(DockerTarget.name)
    assert target.project == settings.DOCKER_PROJECT and target.project.startswith("portal-test")
    assert target.connection.url == settings.DOCKER_NEO4J_URL != settings.NEO4J_URL
