"""A restore whose worker dies after the current data was set aside: recovery puts that data back and starts it.

The worker's death is simulated in-process (an exception no step handler catches, leaving the run RUNNING exactly as
a SIGKILL would); the SIGKILL itself is exercised by test_worker_killed.py.
"""

import hashlib
import socket

import pytest

from operations import runner, services
from operations.models import Backup
from operations.procedures.restore import RestoreProcedure, aside_dir

from .conftest import graph_snapshot, seed_graph

pytestmark = pytest.mark.django_db


class WorkerDied(BaseException):
    pass


def test_restore_interrupted_during_load_gets_previous_data_back(target, monkeypatch):
    monkeypatch.setattr(runner, "enqueue", lambda run: None)
    seed_graph(target, "precious")
    before = graph_snapshot(target)
    content = b"never loaded"
    (target.backup_dir / "neo4j-20200101-000009.dump").write_bytes(content)
    backup = Backup.objects.create(
        file_name="neo4j-20200101-000009.dump",
        target=target.name,
        database=target.connection.database,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        neo4j_version=target.neo4j_version(),
        node_count=0,
        relationship_count=0,
        requested_by_label="test",
    )

    def die(self, ctx):
        raise WorkerDied()

    monkeypatch.setattr(RestoreProcedure, "load", die)
    run = services.request_restore(backup, target.connection.database, label="test")
    no_such_pid = 2**22 + 1  # above Linux's largest pid_max: certainly not a live process
    with pytest.raises(WorkerDied):
        runner.execute(run.pk, worker=f"ghost@{socket.gethostname()}", worker_pid=no_such_pid)
    run.refresh_from_db()
    assert run.status == "running" and run.state["aside"] is True
    assert aside_dir(target).exists() and not target.is_up()

    recovered = runner.recover_interrupted(f"rescuer@{socket.gethostname()}")

    assert [r.pk for r in recovered] == [run.pk]
    run.refresh_from_db()
    assert run.status == "interrupted"
    assert "step 9 of 15 (load the backup)" in run.error and "started Neo4j on the previous data" in run.error
    assert target.is_up() and graph_snapshot(target) == before
    assert not aside_dir(target).exists()
    assert services.active_run(target.name) is None
