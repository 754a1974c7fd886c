"""A real Neo4j 4.4 holding the committed alchemiscale v0.3 fixture dump, as the portal's operations target.

The ``store44`` fixture is parametrised over the two targets, so each store-migration test runs on both from the
same code:

- ``local``: a Neo4j 4.4 installation of the project's own (``devtools/local_neo4j.py``), which the local target
  drives through its settings like any installation (its switch command is the dev tools' ``switch``);
- ``docker``: a compose-made container of the ``neo4j:4.4`` image (``scripts/neo4j_image.py``) with 4.4's setting
  names, in a compose project of its own (``portal-test-<slot>-neo4j44``), the dump loaded with 4.4's
  ``neo4j-admin load`` in a one-off container before its first start. Its ``.env`` (``PORTAL_COMPOSE_ENV_FILE``) is
  a file in the test's directory naming ``neo4j:4.4``.

Either runs beside the slot's test Neo4j (on its own ports and data) so the migration can stop, replace and restart
it without touching the rest of the suite's store. What the tests need is the small common interface of
:class:`Store44`: query, everything, version, stop/start, the environment of a ``manage.py`` run, and
``assert_runs(version)`` for what "running version X" means on that target.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shlex
import shutil
from pathlib import Path
from typing import Any

import neo4j
import pytest

from devtools.local_neo4j import (
    NEO4J_44_VERSION,
    NEO4J_518_VERSION,
    NEO4J_VERSION,
    Neo4jInstance,
    is_44,
    portal_settings,
)
from operations.targets import get_target

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_44 = ROOT / "tests" / "fixtures" / "neo4j-4.4-alchemiscale-v03.dump"
SLOT = int(os.environ.get("PORTAL_TEST_SLOT", "0") or 0)
BOLT_PORT, HTTP_PORT = 17689 + 100 * SLOT, 17476 + 100 * SLOT
TARGETS = ["local", "docker"]


def query(url: str, password: str, cypher: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
    with neo4j.GraphDatabase.driver(url, auth=("neo4j", password)) as driver:
        records, _, _ = driver.execute_query(cypher, params or {}, database_="neo4j")
    return [list(r.values()) for r in records]


def everything(url: str, password: str) -> dict[str, Any]:
    """Every node (labels, properties) and relationship (ends, type, properties), keyed by alchemiscale's keys."""

    def plain(v: Any) -> Any:
        if isinstance(v, list):
            return [plain(x) for x in v]
        return v.iso_format() if hasattr(v, "iso_format") else v

    key = "coalesce(n._scoped_key, n.identifier)"
    nodes = query(url, password, f"MATCH (n) RETURN {key}, labels(n), properties(n)")
    rels = query(
        url,
        password,
        "MATCH (a)-[r]->(b) RETURN coalesce(a._scoped_key, a.identifier), type(r), "
        "coalesce(b._scoped_key, b.identifier), properties(r)",
    )
    return {
        "nodes": sorted(
            (k, sorted(labels), sorted((p, plain(v)) for p, v in props.items())) for k, labels, props in nodes
        ),
        "relationships": sorted((a, t, b, sorted((p, plain(v)) for p, v in props.items())) for a, t, b, props in rels),
        "constraints": sorted(r[0] for r in query(url, password, "SHOW CONSTRAINTS YIELD name RETURN name")),
    }


def with_damage(steps: list, name: str, damage) -> list:
    """``steps`` with ``damage(ctx)`` done just before the step ``name`` runs: a real failure made to happen midway
    through a real store upgrade."""
    i = next(i for i, s in enumerate(steps) if s.name == name)
    original = steps[i].run

    def damage_then_run(ctx):
        damage(ctx)
        return original(ctx)

    return [*steps[:i], dataclasses.replace(steps[i], run=damage_then_run), *steps[i + 1 :]]


class Store44:
    """What the migration tests use, whichever target holds the store."""

    target_name: str
    #: the Neo4j 5 release the migration moves to (PORTAL_NEO4J_MIGRATION_VERSION): the local target has 5.18 (the
    #: guide's) and 5.26 at hand, the Docker tests' images are 4.4 and 5.26
    to_version: str

    def __init__(self, tmp_path: Path):
        self.password = "p" + secrets.token_urlsafe(12)  # never "-...": neo4j-admin would read an option
        self.url = f"bolt://127.0.0.1:{BOLT_PORT}"
        self.tmp_path = tmp_path

    def query(self, cypher: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
        return query(self.url, self.password, cypher, params)

    def everything(self) -> dict[str, Any]:
        return everything(self.url, self.password)

    def target(self):
        return get_target(self.target_name)

    def version(self) -> str:
        """The Neo4j version installed (known without the server running)."""
        return self.target().neo4j_version()

    def stop(self) -> None:
        self.target().stop()

    def start(self) -> None:
        self.target().start()

    def configure(self, settings) -> None:
        settings.OPERATIONS_TARGET = self.target_name
        settings.NEO4J_URL = self.url
        settings.NEO4J_USER = "neo4j"
        settings.NEO4J_PASS = self.password
        settings.NEO4J_MIGRATION_VERSION = self.to_version
        settings.BACKUP_DIR = self.tmp_path / "backups"
        # Runs are carried out in the test's process: the suite's shared worker has the other store's settings.
        settings.OPERATIONS_QUEUE = f"nobody-{os.getpid()}"

    def env(self, settings) -> dict[str, str]:
        """The environment of a ``manage.py`` process acting on this store as the test's settings do."""
        return {
            "PORTAL_OPERATIONS_TARGET": self.target_name,
            "NEO4J_URL": self.url,
            "NEO4J_USER": "neo4j",
            "NEO4J_PASS": self.password,
            "PORTAL_NEO4J_MIGRATION_VERSION": self.to_version,
            "PORTAL_BACKUP_DIR": str(settings.BACKUP_DIR),
            "PORTAL_OPERATIONS_QUEUE": settings.OPERATIONS_QUEUE,
        }

    def assert_runs(self, version: str) -> None:
        """The target is installed as ``version`` and answers as it."""
        assert self.version() == version
        assert self.query("CALL dbms.components() YIELD versions RETURN versions[0]")[0][0] == version


class LocalStore44(Store44):
    target_name = "local"
    to_version = NEO4J_518_VERSION

    def __init__(self, tmp_path: Path):
        super().__init__(tmp_path)
        self.instance = Neo4jInstance(
            home=(tmp_path / "neo4j").resolve(),
            bolt_port=BOLT_PORT,
            http_port=HTTP_PORT,
            heap="384m",
            pagecache="64m",
            version=NEO4J_44_VERSION,
        )

    def create(self) -> None:
        self.instance.init(self.password)
        self.instance.admin(["load", f"--from={FIXTURE_44}", "--database=neo4j", "--force"], check=True)
        self.instance.start()

    def configure(self, settings) -> None:
        super().configure(settings)
        local = portal_settings(self.instance.home)
        settings.NEO4J_HOME = self.instance.home
        settings.NEO4J_SWITCH_COMMAND = shlex.split(local["PORTAL_NEO4J_SWITCH_COMMAND"])

    def env(self, settings) -> dict[str, str]:
        return {**super().env(settings), **portal_settings(self.instance.home)}

    def remove(self) -> None:
        if (self.instance.home / "instance.json").exists():
            Neo4jInstance.load(self.instance.home).stop()


class DockerStore44(Store44):
    target_name = "docker"
    to_version = NEO4J_VERSION

    def __init__(self, tmp_path: Path):
        super().__init__(tmp_path)
        self.project = f"portal-test-{SLOT}-neo4j44"
        self.data_dir = tmp_path / "neo4j-data"
        self.env_file = tmp_path / "compose" / ".env"
        self.initial: dict[str, Any] = {}

    #: the version the deployment starts from, and its image
    from_version = NEO4J_44_VERSION

    @property
    def image(self) -> str:
        from tests.docker_fixtures import tags_for

        return tags_for(self.from_version)[1]

    def load_data(self, client) -> None:
        """Fill the data directory before the first start: the 4.4 fixture dump, with 4.4's own load syntax
        (docs/facts.md), in a one-off container of the image."""
        from tests.docker_fixtures import DATA_GID, DATA_UID

        dump_dir = self.tmp_path / "fixture"
        dump_dir.mkdir()
        shutil.copy(FIXTURE_44, dump_dir / "neo4j.dump")
        client.containers.run(
            self.image,
            ["neo4j-admin", "load", "--from=/fixture/neo4j.dump", "--database=neo4j", "--force"],
            user=f"{DATA_UID}:{DATA_GID}",
            network_mode="none",
            hostname="localhost",
            remove=True,
            volumes={
                str(self.data_dir): {"bind": "/var/lib/neo4j/data", "mode": "rw"},
                str(dump_dir): {"bind": "/fixture", "mode": "ro"},
            },
        )

    def create(self) -> None:
        from tests.docker_fixtures import DATA_GID, DATA_UID, create_compose_neo4j, docker_client, remove_deployment

        client = docker_client()
        remove_deployment(client, self.project)
        self.data_dir.mkdir()
        os.chown(self.data_dir, DATA_UID, DATA_GID)
        self.load_data(client)
        self.env_file.parent.mkdir()
        self.env_file.write_text(
            f"# alchemiscale-server\nNEO4J_USER=neo4j\nNEO4J_DOCKER_IMAGE={self.image}\n"
            f"NEO4J_DATA_STORE={self.data_dir}\n"
        )
        self.env_file.chmod(0o640)
        create_compose_neo4j(
            client,
            project=self.project,
            service="neo4j",
            image=self.image,
            data_dir=self.data_dir,
            password=self.password,
            bolt_port=BOLT_PORT,
            http_port=HTTP_PORT,
            heap="384m",
            pagecache="64m",
            version=self.from_version,
        )
        self.target().wait_for_bolt()
        self.initial = self.deployment()

    def configure(self, settings) -> None:
        super().configure(settings)
        settings.DOCKER_PROJECT = self.project
        settings.DOCKER_SERVICE = "neo4j"
        settings.DOCKER_NEO4J_URL = self.url
        settings.COMPOSE_ENV_FILE = str(self.env_file)

    def env(self, settings) -> dict[str, str]:
        return {
            **super().env(settings),
            "PORTAL_DOCKER_PROJECT": self.project,
            "PORTAL_DOCKER_SERVICE": "neo4j",
            "PORTAL_DOCKER_NEO4J_URL": self.url,
            "PORTAL_COMPOSE_ENV_FILE": settings.COMPOSE_ENV_FILE or "",
        }

    def deployment(self) -> dict[str, Any]:
        """What compose gave the container (not what its image supplies), and its image."""
        from tests.docker_fixtures import docker_client

        c = self.target().container()
        image = docker_client().images.get(c.attrs["Image"]).attrs["Config"]
        config, host = c.attrs["Config"], c.attrs["HostConfig"]
        return {
            "image": config["Image"],
            "name": c.name,
            "user": config["User"],
            "labels": {k: v for k, v in config["Labels"].items() if k not in (image.get("Labels") or {})},
            "env": sorted(e for e in config["Env"] if e not in (image.get("Env") or [])),
            "mounts": sorted((m["Source"], m["Destination"], m["RW"]) for m in c.attrs["Mounts"]),
            "restart": host["RestartPolicy"],
            "network": host["NetworkMode"],
            "binds": host["Binds"],
        }

    def assert_runs(self, version: str) -> None:
        """As compose made it, on ``version``'s image and settings; one container; no one-off job left."""
        from operations.targets.docker import JOB_LABEL, PROJECT_LABEL
        from tests.docker_fixtures import compose_settings, docker_client, tags_for

        super().assert_runs(version)
        now = self.deployment()
        assert now["image"] == tags_for(version)[1]
        settings = compose_settings(version, bolt_port=BOLT_PORT, http_port=HTTP_PORT, heap="384m", pagecache="64m")
        assert now["env"] == sorted([f"NEO4J_AUTH=neo4j/{self.password}", *(f"{k}={v}" for k, v in settings.items())])
        same = ("name", "user", "labels", "mounts", "restart", "network", "binds")
        assert {k: now[k] for k in same} == {k: self.initial[k] for k in same}
        client = docker_client()
        assert [
            c.name for c in client.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}={self.project}"})
        ] == [now["name"]]
        assert client.containers.list(all=True, filters={"label": f"{JOB_LABEL}={self.project}/neo4j"}) == []
        if not is_44(version):
            # The 4.4 listen address arrived under 5.x's name, so the image's 0.0.0.0 default did not win.
            listen = self.query(
                "SHOW SETTINGS YIELD name, value WHERE name = 'server.default_listen_address' RETURN value"
            )
            assert listen == [["127.0.0.1"]]

    def env_file_image(self) -> str | None:
        lines = [line for line in self.env_file.read_text().splitlines() if line.startswith("NEO4J_DOCKER_IMAGE=")]
        assert len(lines) <= 1, lines
        return lines[0].split("=", 1)[1] if lines else None

    def remove(self) -> None:
        from tests.docker_fixtures import docker_client, remove_deployment

        remove_deployment(docker_client(), self.project)


@pytest.fixture(params=TARGETS)
def store44(request, tmp_path, settings):
    """The fixture dump loaded into a running Neo4j 4.4 on the target ``request.param``; the portal's settings point
    that target at it."""
    store = {"local": LocalStore44, "docker": DockerStore44}[request.param](tmp_path)
    try:
        store.configure(settings)
        store.create()
        yield store
    finally:
        store.remove()
