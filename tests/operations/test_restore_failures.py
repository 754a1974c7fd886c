"""A restore that cannot succeed leaves the previous data in place and Neo4j up, and says why."""

import hashlib

import pytest

from operations.backups import services
from operations.backups.procedures.restore import aside_dir
from operations.models import Backup
from operations.runs import contract

from .conftest import graph_snapshot, seed_graph, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _catalogue(target, name: str, content: bytes, sha256: str | None = None) -> Backup:
    (target.backup_dir / name).write_bytes(content)
    return Backup.objects.create(
        file_name=name,
        target=target.name,
        database=target.connection.database,
        size=len(content),
        sha256=sha256 or hashlib.sha256(content).hexdigest(),
        neo4j_version=target.neo4j_version(),
        node_count=1,
        relationship_count=0,
        requested_by_label="test",
    )


def test_corrupt_dump_fails_in_staging_and_the_live_store_keeps_serving(target, celery_worker_process):
    seed_graph(target, "keep")
    before = graph_snapshot(target)
    pid_before = target.pid() if target.name == "local" else None  # the same server process after the refusal
    # Catalogued with its own checksum, so only neo4j-admin load can find out it is not a dump.
    corrupt = _catalogue(target, "neo4j-20200101-000000.dump", b"this is not a Neo4j dump\n" * 4000)

    run = wait_for(services.request_restore(corrupt, target.connection.database, label="test"))

    assert run.status == "failed"
    assert "load the backup" in run.error and "neo4j-admin exited" in run.error
    steps = {s.name: s.status for s in run.steps.all()}
    assert steps["load the backup"] == "failed" and steps["roll back"] == "ok"
    assert steps["stop Neo4j"] == "skipped" and steps["swap the stores"] == "skipped"
    assert steps["make sure Neo4j runs"] == "ok" and steps["remove the staging store"] == "ok"
    assert "the live store was not touched" in run.steps.get(name="roll back").output
    # The load ran beside the live store: Neo4j was never stopped (the same process), and no outage was recorded.
    assert target.is_up() and graph_snapshot(target) == before
    if pid_before is not None:
        assert target.pid() == pid_before
    assert "outage_started" not in run.state
    assert not aside_dir(target).exists() and not target.staging_dir().exists()
    # Nothing was replaced, so there is no safety backup.
    assert Backup.objects.filter(purpose=Backup.Purpose.SAFETY).count() == 0


def test_damaged_file_is_refused_before_anything_stops(target, celery_worker_process):
    seed_graph(target, "keep")
    before = graph_snapshot(target)
    pid_before = target.pid() if hasattr(target, "pid") else None
    damaged = _catalogue(target, "neo4j-20200101-000001.dump", b"changed after cataloguing", sha256="0" * 64)

    run = wait_for(services.request_restore(damaged, target.connection.database, label="test"))

    assert run.status == "failed"
    assert "is damaged" in run.error and "nothing was stopped or changed" in run.error
    assert run.steps.get(name="stop Neo4j").status == "skipped"
    assert target.is_up() and graph_snapshot(target) == before
    if pid_before is not None:
        assert target.pid() == pid_before
    assert Backup.objects.filter(purpose=Backup.Purpose.SAFETY).count() == 0


def test_wrong_confirmation_is_refused(target):
    backup = _catalogue(target, "neo4j-20200101-000002.dump", b"x")
    with pytest.raises(contract.OperationFailed, match="type the database name"):
        services.request_restore(backup, "not-the-name", label="test")
