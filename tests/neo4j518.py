"""A real Neo4j 5.18 (alchemiscale's compose default) holding an alchemiscale-shaped graph, as the operations target:
where the upgrade to 5.26 LTS starts.

The ``store518`` fixture is the ``store44`` one (``tests/neo4j44.py``) started from 5.18 instead of 4.4, on both
targets from the same code: the local target a 5.18 installation of the project's own (switched by the dev tools'
``switch``), the Docker target a compose-made container of the ``neo4j:5.18`` image (``scripts/neo4j_image.py
build --version 5.18.1``) in a compose project of its own, with a ``.env`` naming that image. Each runs beside the
slot's test Neo4j on the 4.4 fixture's ports, so the upgrade can stop, replace and restart it without touching the
rest of the suite's store. The graph: alchemiscale's four constraints, identities with scopes, networks and
relationships (``seed_graph``), written over Bolt.
"""

from __future__ import annotations

import pytest

from devtools.local_neo4j import NEO4J_518_VERSION, NEO4J_VERSION
from tests.conftest import ALCHEMISCALE_CONSTRAINTS
from tests.neo4j44 import DockerStore44, LocalStore44
from tests.operations.conftest import seed_graph


def seed(store) -> None:
    for name, (label, prop) in ALCHEMISCALE_CONSTRAINTS.items():
        # Names, labels and properties are the constants alchemiscale's `database init` uses.
        store.query(f"CREATE CONSTRAINT {name} IF NOT EXISTS FOR (n:{label}) REQUIRE n.{prop} IS UNIQUE")
    seed_graph(store.target(), "s518", n=30)


class LocalStore518(LocalStore44):
    to_version = NEO4J_VERSION

    def __init__(self, tmp_path):
        super().__init__(tmp_path)
        self.instance.version = NEO4J_518_VERSION

    def create(self) -> None:
        self.instance.init(self.password)
        self.instance.start()
        seed(self)


class DockerStore518(DockerStore44):
    to_version = NEO4J_VERSION
    from_version = NEO4J_518_VERSION

    def __init__(self, tmp_path):
        super().__init__(tmp_path)
        self.project = self.project.replace("neo4j44", "neo4j518")

    def load_data(self, client) -> None:
        """Nothing before the first start: the graph is written over Bolt once it runs."""

    def create(self) -> None:
        super().create()
        seed(self)


@pytest.fixture(params=["local", "docker"])
def store518(request, tmp_path, settings):
    """An alchemiscale-shaped graph in a running Neo4j 5.18 on the target ``request.param``; the portal's settings
    point that target at it and the forward upgrade at the portal's 5.26 release."""
    store = {"local": LocalStore518, "docker": DockerStore518}[request.param](tmp_path)
    try:
        store.configure(settings)
        settings.NEO4J_LTS_VERSION = NEO4J_VERSION
        store.create()
        yield store
    finally:
        store.remove()
