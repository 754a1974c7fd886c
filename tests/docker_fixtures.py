"""The Docker side of the tests: a Neo4j container made the way docker-compose makes alchemiscale's.

``scripts/test.sh`` starts the private engine (``scripts/docker_engine.py``, no bridge), builds the ``neo4j:5.26``
image (``scripts/neo4j_image.py``) and exports ``DOCKER_HOST``, ``PORTAL_DOCKER_PROJECT`` (``portal-test-<slot>``,
never a real deployment's name) and ``PORTAL_DOCKER_NEO4J_URL``. The container carries the compose labels, mounts
its data directory like ``${NEO4J_DATA_STORE}:/var/lib/neo4j/data``, runs as ``USER_ID:GROUP_ID`` (7474:7474, not
root and not us), restarts ``unless-stopped``, and listens on 127.0.0.1 only, with host networking (docs/facts.md).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from devtools.local_neo4j import NEO4J_44_VERSION, NEO4J_VERSION, is_44
from operations.targets import get_target
from operations.targets.docker import JOB_LABEL, PROJECT_LABEL, SERVICE_LABEL, DockerTarget

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from neo4j_image import tags_for  # noqa: E402

#: the data owner of the test deployment (the official image's neo4j user id)
DATA_UID = DATA_GID = 7474
IMAGE = tags_for(NEO4J_VERSION)[1]
IMAGE_44 = tags_for(NEO4J_44_VERSION)[1]

#: the settings a compose file gives Neo4j, as each line spells them (written out here, independently of the
#: translation table in operations/targets/docker/recreate.py that the version switch uses)
SETTING_NAMES = {
    "5": {
        "listen": "server.default_listen_address",
        "bolt": "server.bolt.listen_address",
        "http": "server.http.listen_address",
        "heap": "server.memory.heap.max_size",
        "pagecache": "server.memory.pagecache.size",
        "quiet": "internal.dbms.bolt.netty_server_shutdown_quiet_period",
    },
    "4": {
        "listen": "dbms.default_listen_address",
        "bolt": "dbms.connector.bolt.listen_address",
        "http": "dbms.connector.http.listen_address",
        "heap": "dbms.memory.heap.max_size",
        "pagecache": "dbms.memory.pagecache.size",
        "quiet": "unsupported.dbms.bolt.netty_server_shutdown_quiet_period",
    },
}


def compose_settings(
    version: str, *, bolt_port: int, http_port: int, heap: str = "512m", pagecache: str = "128m"
) -> dict[str, str]:
    """``NEO4J_<setting>`` variables of the test deployment, spelled for ``version``."""
    names = SETTING_NAMES["4" if is_44(version) else "5"]
    values = {
        "listen": "127.0.0.1",
        "bolt": f"127.0.0.1:{bolt_port}",
        "http": f"127.0.0.1:{http_port}",
        "heap": heap,
        "pagecache": pagecache,
        # An operator's tuning the test deployment carries: stops in about a second (docs/outage.md)
        "quiet": "0",
    }
    return {"NEO4J_" + names[k].replace("_", "__").replace(".", "_"): v for k, v in values.items()}


def docker_client():
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:
        raise RuntimeError(
            f"the Docker engine at {os.environ.get('DOCKER_HOST', 'the default socket')} does not "
            f"answer ({exc}); run the tests through scripts/test.sh, which starts it"
        ) from None
    return client


def remove_deployment(client, project: str, service: str = "neo4j") -> None:
    """Every container of the test project, and neo4j-admin jobs left by an interrupted run."""
    for label in (f"{PROJECT_LABEL}={project}", f"{JOB_LABEL}={project}/{service}"):
        for c in client.containers.list(all=True, filters={"label": label}):
            c.remove(force=True)


def create_compose_neo4j(
    client,
    *,
    project: str,
    service: str,
    image: str,
    data_dir: Path,
    password: str,
    bolt_port: int,
    http_port: int,
    user: str = f"{DATA_UID}:{DATA_GID}",
    heap: str = "512m",
    pagecache: str = "128m",
    version: str = NEO4J_VERSION,
    start: bool = True,
):
    """A Neo4j container as docker-compose creates alchemiscale's ``neo4j`` service, but on host networking; its
    settings spelled as Neo4j ``version`` spells them."""
    container = client.containers.create(
        image,
        name=f"{project}_{service}_1",
        user=user,
        network_mode="host",
        restart_policy={"Name": "unless-stopped"},
        volumes={str(data_dir): {"bind": "/var/lib/neo4j/data", "mode": "rw"}},
        labels={
            PROJECT_LABEL: project,
            SERVICE_LABEL: service,
            "com.docker.compose.oneoff": "False",
            "com.docker.compose.container-number": "1",
            "com.docker.compose.version": "1.29.2",
            "com.docker.compose.project.working_dir": f"/srv/{project}",
        },
        environment={
            "NEO4J_AUTH": f"neo4j/{password}",
            **compose_settings(version, bolt_port=bolt_port, http_port=http_port, heap=heap, pagecache=pagecache),
        },
    )
    if start:
        container.start()
    return container


@pytest.fixture(scope="session")
def docker_neo4j_container() -> Iterator[object]:
    """The test deployment's Neo4j container, created fresh for the session and removed after it."""
    assert settings.DOCKER_PROJECT.startswith("portal-test"), "tests only ever touch their own compose project"
    client = docker_client()
    project = settings.DOCKER_PROJECT
    remove_deployment(client, project, settings.DOCKER_SERVICE)
    data_dir = Path(settings.DATA_DIR) / "docker-neo4j" / "data"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    os.chown(data_dir, DATA_UID, DATA_GID)
    bolt = urlsplit(settings.DOCKER_NEO4J_URL).port
    container = create_compose_neo4j(
        client,
        project=project,
        service=settings.DOCKER_SERVICE,
        image=IMAGE,
        data_dir=data_dir,
        password=settings.NEO4J_PASS,
        bolt_port=bolt,
        http_port=bolt + 1,
    )
    get_target(DockerTarget.name).wait_for_bolt()
    yield container
    remove_deployment(client, project, settings.DOCKER_SERVICE)


@pytest.fixture
def docker_neo4j(docker_neo4j_container) -> DockerTarget:
    """The Docker target, up and answering, with an empty graph."""
    target = get_target(DockerTarget.name)
    if not target.is_up():
        target.start()
    target.wait_for_bolt()
    target.query("MATCH (n) DETACH DELETE n")
    return target
