"""A restore whose worker dies after the swap (before Neo4j started on the restored store), or halfway through the
swap: recovery leaves one whole data set, the previous one, and Neo4j running on it; never a mix of the two.

The worker's death is simulated in-process (an exception no step handler catches, leaving the run RUNNING exactly as
a SIGKILL would); the SIGKILL itself is exercised by test_worker_killed.py.
"""

import socket

import pytest

from operations.backups import services
from operations.backups.procedures.restore import RestoreProcedure, aside_dir
from operations.models import Backup
from operations.runs import engine, recovery
from operations.runs import requests as run_requests

from .conftest import graph_snapshot, seed_graph

pytestmark = pytest.mark.django_db


class WorkerDied(BaseException):
    pass


def _die(*args, **kwargs):
    raise WorkerDied()


def _restore_until_death(target, backup: Backup):
    run = services.request_restore(backup, target.connection.database, label="test")
    no_such_pid = 2**22 + 1  # above Linux's largest pid_max: certainly not a live process
    with pytest.raises(WorkerDied):
        engine.execute(run.pk, worker=f"ghost@{socket.gethostname()}", worker_pid=no_such_pid)
    run.refresh_from_db()
    assert run.status == "running" and run.state["aside"] is True
    assert aside_dir(target).exists() and not target.is_up()
    recovered = recovery.recover_interrupted(f"rescuer@{socket.gethostname()}")
    assert [r.pk for r in recovered] == [run.pk]
    run.refresh_from_db()
    assert run.status == "interrupted"
    return run


def test_restore_interrupted_after_the_swap_gets_previous_data_back(target, monkeypatch):
    monkeypatch.setattr(run_requests, "enqueue", lambda run: None)
    seed_graph(target, "old")
    backup_run = services.request_backup(label="test")
    assert engine.execute(backup_run.pk).status == "succeeded"
    backup = Backup.objects.get()
    seed_graph(target, "precious", n=5)
    before = graph_snapshot(target)

    # Dies between the swap and the start: the live directories hold the staged store, the previous ones are aside.
    monkeypatch.setattr(RestoreProcedure, "start_restored", _die)
    run = _restore_until_death(target, backup)
    assert "step 8 of 17 (start Neo4j)" in run.error and "started Neo4j on the previous data" in run.error
    assert "removed the loaded" in run.error and "moved" in run.error
    assert target.is_up() and graph_snapshot(target) == before
    assert not aside_dir(target).exists() and not target.staging_dir().exists()
    assert run_requests.active_run(target.name) is None

    # Dies halfway through the swap: the store directory swapped, the transaction logs not yet.
    monkeypatch.undo()
    monkeypatch.setattr(run_requests, "enqueue", lambda run: None)
    real_swap_in = type(target).swap_in

    def swap_only_the_store(self, staged, aside):
        live, new, away = self.database_dirs()[0], self.side_databases(staged)[0], self.side_databases(aside)[0]
        away.parent.mkdir(parents=True, exist_ok=True)
        live.rename(away)
        new.rename(live)
        _die()

    assert real_swap_in is not None
    monkeypatch.setattr(type(target), "swap_in", swap_only_the_store)
    run = _restore_until_death(target, backup)
    assert "step 7 of 17 (swap the stores)" in run.error and "started Neo4j on the previous data" in run.error
    assert target.is_up() and graph_snapshot(target) == before
    assert not aside_dir(target).exists() and not target.staging_dir().exists()
    assert Backup.objects.filter(purpose=Backup.Purpose.SAFETY).count() == 0

    # Dies after Neo4j started on the restored store, which took writes before anyone noticed: recovery puts the
    # previous data back, but first keeps what the restored store held, writes included, as a safety backup (it used
    # to swap back and lose them silently).
    monkeypatch.undo()
    monkeypatch.setattr(run_requests, "enqueue", lambda run: None)

    def written_to_then_die(self, ctx):
        self.target.query("UNWIND range(1, 3) AS i CREATE (:LateWrite {i: i})")
        _die()

    monkeypatch.setattr(RestoreProcedure, "verify", written_to_then_die)
    run = services.request_restore(backup, target.connection.database, label="test")
    with pytest.raises(WorkerDied):
        engine.execute(run.pk, worker=f"ghost@{socket.gethostname()}", worker_pid=2**22 + 1)
    assert target.is_up()
    recovery.recover_interrupted(f"rescuer@{socket.gethostname()}")
    run.refresh_from_db()
    assert run.status == "interrupted" and "kept what it held" in run.error, run.error
    assert target.is_up() and graph_snapshot(target) == before
    (served,) = Backup.objects.filter(purpose=Backup.Purpose.SAFETY)
    assert served.node_count == backup.node_count + 3
    assert (target.backup_dir / served.file_name).is_file()
