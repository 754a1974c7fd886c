"""The portal talks to the real Neo4j, Redis and a real Celery worker."""

import pytest
from django.conf import settings
from neomodel import IntegerProperty, StringProperty, StructuredNode

from alchemiscale_portal.celery import app
from identities import store
from operations.runs.tasks import ping


class WiringProbe(StructuredNode):
    __label__ = "PortalWiringProbe"
    name = StringProperty()
    size = IntegerProperty()


def test_neomodel_node_written_and_read_back_through_neo4j():
    WiringProbe(name="probe-1", size=42).save()
    # Read with plain Cypher, not through neomodel's cache of the object.
    rows = store.cypher("MATCH (n:PortalWiringProbe {name: $name}) RETURN n.size, labels(n)", {"name": "probe-1"})
    assert rows == [[42, ["PortalWiringProbe"]]]
    assert WiringProbe.nodes.get(name="probe-1").size == 42


def test_settings_reach_the_configured_database():
    version, edition = store.server_version()
    assert version.startswith("5.26")
    assert edition == "community"
    assert settings.NEOMODEL_NEO4J_BOLT_URL.endswith(f"/{settings.NEO4J_DBNAME}")


@pytest.mark.worker
def test_task_runs_in_a_real_worker_process(celery_worker_process):
    result = ping.delay("hello")
    value = result.get(timeout=30)
    assert value["echo"] == "hello"
    # Not eager: it ran in the worker's process, not ours.
    assert int(value["pid"]) != __import__("os").getpid()
    assert not app.conf.task_always_eager
