"""The Docker target's Neo4j version switch, beyond what the migration tests cover: a missing image is refused
before anything is stopped, what Neo4j 5.26 really does with 4.4's setting names (why the switch renames them),
networks with aliases, and compose's ``.env`` rewrite."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings

from operations.local_neo4j import NEO4J_VERSION
from operations.targets import TargetError
from operations.targets.docker import DockerTarget, translate_settings
from operations.upgrades import neo4j_data
from tests.docker_fixtures import (
    IMAGE,
    IMAGE_44,
    compose_settings,
    create_compose_neo4j,
    docker_client,
    remove_deployment,
)
from tests.neo4j44 import BOLT_PORT, HTTP_PORT, query


@pytest.mark.django_db
def test_missing_image_is_refused_before_anything_stops(docker_neo4j: DockerTarget, monkeypatch):
    problems = docker_neo4j.check_neo4j_version("5.26.99")
    assert len(problems) == 1
    assert "no image of Neo4j 5.26.99" in problems[0] and "docker pull neo4j:5.26.99" in problems[0]
    assert f"neo4j:5.26 (holds Neo4j {NEO4J_VERSION})" in problems[0]
    assert docker_neo4j.check_neo4j_version(NEO4J_VERSION) == []

    # the migration's prechecks (upgrade page) and its check step say so; the container keeps running
    monkeypatch.setattr(neo4j_data, "TO_VERSION", "5.26.99")
    checks = {c.name: c for c in neo4j_data.Neo4j44To5Procedure(docker_neo4j, {}).prechecks()}
    assert not checks["new version at hand"].ok and "docker pull neo4j:5.26.99" in checks["new version at hand"].detail
    assert docker_neo4j.is_up()

    # the switch itself refuses a running container, and an absent image, leaving the container as it was
    before = docker_neo4j.container().id
    with pytest.raises(TargetError, match="must be stopped"):
        docker_neo4j.use_neo4j_version(NEO4J_VERSION)
    docker_neo4j.stop()
    try:
        with pytest.raises(TargetError, match="docker pull neo4j:5.26.99"):
            docker_neo4j.use_neo4j_version("5.26.99")
        assert docker_neo4j.container().id == before
    finally:
        docker_neo4j.start()


def test_a_switch_killed_halfway_is_finished_by_the_next(docker_neo4j: DockerTarget, tmp_path: Path):
    """The switch renames the old container aside, creates its successor, then removes the old one. Killed after
    the rename, the next switch (the roll back's or the resume's) gives the container its name back; killed after
    the creation, the successor is the container and the next switch removes the leftover. (A deployment of its own,
    never started: a switch needs the container stopped, nothing more.)"""
    from operations.targets.docker import PROJECT_LABEL, REPLACED_SUFFIX, SERVICE_LABEL

    client = docker_client()
    project = f"{settings.DOCKER_PROJECT}-switch"
    remove_deployment(client, project)
    old = create_compose_neo4j(
        client,
        project=project,
        service="neo4j",
        image=IMAGE,
        data_dir=tmp_path,
        password="unused-1",
        bolt_port=BOLT_PORT,
        http_port=HTTP_PORT,
        start=False,
    )
    target = DockerTarget(docker_neo4j.connection, docker_neo4j.backup_dir, project=project, service="neo4j")
    name, labels = old.name, {PROJECT_LABEL: project, SERVICE_LABEL: "neo4j"}
    try:
        old.rename(name + REPLACED_SUFFIX)  # killed after the rename
        assert target.container().name == name + REPLACED_SUFFIX
        assert "re-created on neo4j:5.26" in target.use_neo4j_version(NEO4J_VERSION)
        assert target.container().name == name

        # killed after creating the successor: two containers carry the compose labels
        client.containers.create(IMAGE, name=name + REPLACED_SUFFIX, labels=labels, network_mode="none")
        assert target.container().name == name
        done = target.use_neo4j_version(NEO4J_VERSION)
        assert f"removed {name}{REPLACED_SUFFIX}, left by an interrupted switch" in done
        assert "already runs neo4j:5.26" in done
        found = client.containers.list(all=True, filters={"label": [f"{k}={v}" for k, v in labels.items()]})
        assert [c.name for c in found] == [name]
    finally:
        remove_deployment(client, project)


def test_neo4j5_migrates_44_setting_names_but_the_images_own_settings_win(tmp_path: Path):
    """5.26 starts on 4.4's names (it renames them itself, with a warning), but where the image's configuration sets
    the new name too (server.default_listen_address=0.0.0.0) the 4.4 value is dropped without a word."""
    client = docker_client()
    password = "not-secret-1"
    env = {
        "NEO4J_AUTH": f"neo4j/{password}",
        **compose_settings("4.4.44", bolt_port=BOLT_PORT, http_port=HTTP_PORT, heap="256m", pagecache="32m"),
    }
    c = client.containers.run(
        IMAGE, detach=True, network_mode="host", environment=env, name=f"portal-test-settings-{BOLT_PORT}"
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                rows = query(
                    f"bolt://127.0.0.1:{BOLT_PORT}",
                    password,
                    "SHOW SETTINGS YIELD name, value WHERE name IN ['server.default_listen_address', "
                    "'server.bolt.listen_address'] RETURN name, value ORDER BY name",
                )
                break
            except Exception:
                c.reload()
                assert c.status == "running", c.logs().decode()[-2000:]
                assert time.monotonic() < deadline, "5.26 did not answer on the 4.4 bolt listen address"
                time.sleep(1)
        assert rows == [
            ["server.bolt.listen_address", f"127.0.0.1:{BOLT_PORT}"],
            ["server.default_listen_address", "0.0.0.0"],
        ]
        log = c.exec_run(["cat", "/var/lib/neo4j/logs/neo4j.log"]).output.decode()
        assert (
            "Use of deprecated setting 'dbms.connector.bolt.listen_address'. It is replaced by "
            "'server.bolt.listen_address'" in log
        )
    finally:
        c.remove(force=True)
    # spelled for 5.x, the deployment's own values are the ones that count
    renamed = dict(e.split("=", 1) for e in translate_settings([f"{k}={v}" for k, v in env.items()], NEO4J_VERSION))
    assert renamed == {
        "NEO4J_AUTH": f"neo4j/{password}",
        **compose_settings(NEO4J_VERSION, bolt_port=BOLT_PORT, http_port=HTTP_PORT, heap="256m", pagecache="32m"),
    }


def test_networks_and_aliases_are_kept(docker_neo4j: DockerTarget):
    """The tests' engine has no bridge networks (docs/facts.md), so compose's user-defined networks are checked on
    inspect data shaped like a compose container's: the first network goes in the create request, the others are
    connected afterwards, each with its aliases but without the old container's id."""
    image = docker_client().images.get(IMAGE_44)
    old_id = "0123456789ab" + "c" * 52
    old = SimpleNamespace(
        id=old_id,
        name="alchemiscale-server_neo4j_1",
        attrs={
            "Image": image.id,
            "Config": {
                **image.attrs["Config"],
                "Image": IMAGE_44,
                "Hostname": old_id[:12],
                "User": "1000:1000",
                "Env": [*image.attrs["Config"]["Env"], "NEO4J_AUTH=neo4j/x", "NEO4J_dbms_memory_heap_max__size=2g"],
                "Labels": {
                    **(image.attrs["Config"].get("Labels") or {}),
                    "com.docker.compose.project": "alchemiscale-server",
                },
            },
            "HostConfig": {
                "NetworkMode": "alchemiscale-server_db",
                "RestartPolicy": {"Name": "unless-stopped"},
                "Binds": ["/srv/neo4j:/var/lib/neo4j/data:rw"],
            },
            "NetworkSettings": {
                "Networks": {
                    "alchemiscale-server_db": {"Aliases": ["neo4j", old_id[:12]], "Links": None, "IPAMConfig": None},
                    "alchemiscale-server_internal": {"Aliases": ["neo4j", "db"], "Links": None, "IPAMConfig": None},
                }
            },
        },
    )
    config, later = docker_neo4j.versions.recreator.create_config(old, IMAGE, NEO4J_VERSION)
    assert config["Image"] == IMAGE and config["User"] == "1000:1000" and "Hostname" not in config
    assert config["Env"] == ["NEO4J_AUTH=neo4j/x", "NEO4J_server_memory_heap_max__size=2g"]
    assert config["Labels"] == {"com.docker.compose.project": "alchemiscale-server"}
    assert "Entrypoint" not in config and "Cmd" not in config  # the new image's own
    assert config["HostConfig"] == old.attrs["HostConfig"]
    assert config["NetworkingConfig"]["EndpointsConfig"]["alchemiscale-server_db"]["Aliases"] == ["neo4j"]
    assert list(later) == ["alchemiscale-server_internal"] and later["alchemiscale-server_internal"]["Aliases"] == [
        "neo4j",
        "db",
    ]


def test_compose_env_file_line_is_rewritten_atomically(tmp_path: Path):
    env_file = tmp_path / ".env"
    env_file.write_text("NEO4J_USER=neo4j\nexport NEO4J_DOCKER_IMAGE = neo4j:4.4\n# NEO4J_DOCKER_IMAGE=old\nX=1\n")
    env_file.chmod(0o600)
    target = DockerTarget(None, tmp_path, compose_env_file=env_file)  # type: ignore[arg-type]
    assert target.env_file.point_at("neo4j:5.26") == f"NEO4J_DOCKER_IMAGE=neo4j:5.26 written to {env_file}"
    assert env_file.read_text() == (
        "NEO4J_USER=neo4j\nexport NEO4J_DOCKER_IMAGE=neo4j:5.26\n# NEO4J_DOCKER_IMAGE=old\nX=1\n"
    )
    assert env_file.stat().st_mode & 0o777 == 0o600 and [p.name for p in tmp_path.iterdir()] == [".env"]

    unset = DockerTarget(None, tmp_path)  # type: ignore[arg-type]
    assert "set NEO4J_DOCKER_IMAGE=neo4j:5.26 in the deployment's .env by hand" in unset.env_file.point_at("neo4j:5.26")
