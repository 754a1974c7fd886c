"""The local target in a service-manager configuration (docs/local-target.md): Neo4j 5.18 (the release alchemiscale's
guide runs) started, stopped and watched only through configured commands, those of a small supervisor standing in
for systemd (``tests/neo4j_supervisor.py`` runs ``bin/neo4j console`` as ``ExecStart=`` would). A backup, a change
and a restore give back the backed-up graph; a restore whose worker dies mid-load is recovered (the previous data
back, the service started again); the server is the supervisor's child throughout.

The installation is laid out by the dev tools (Maven Central jars) because nothing else can install Neo4j here; the
portal sees only its home, its neo4j.conf and the commands.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from devtools.local_neo4j import NEO4J_518_VERSION, Neo4jInstance
from operations.backups import services
from operations.backups.procedures.restore import RestoreProcedure, aside_dir
from operations.models import Backup
from operations.runs import engine, recovery
from operations.runs import requests as run_requests
from operations.targets import get_target

from .conftest import graph_snapshot, seed_graph

pytestmark = pytest.mark.django_db
SUPERVISOR = Path(__file__).resolve().parents[1] / "neo4j_supervisor.py"
SLOT = int(os.environ.get("PORTAL_TEST_SLOT", "0") or 0)
BOLT_PORT, HTTP_PORT = 17691 + 100 * SLOT, 17478 + 100 * SLOT


@pytest.fixture
def supervised(tmp_path, settings, monkeypatch):
    """A Neo4j 5.18 installation run by the stand-in service manager; the portal's settings point the local target
    at it through commands only. Stopped again afterwards, whatever happened."""
    password = "p" + "supervised-5-18"
    inst = Neo4jInstance(
        home=tmp_path / "neo4j", bolt_port=BOLT_PORT, http_port=HTTP_PORT, heap="384m", pagecache="64m"
    )
    inst.version = NEO4J_518_VERSION
    inst.init(password)  # conf, bin/, lib/ and the initial password: the installation, not started
    service = [sys.executable, str(SUPERVISOR)]
    state = ["--state", str(tmp_path / "service")]
    settings.OPERATIONS_TARGET = "local"
    settings.NEO4J_HOME = inst.home
    settings.NEO4J_CONF_DIR = None
    settings.NEO4J_ADMIN = []
    settings.NEO4J_START_COMMAND = [*service, "start", *state, "--", str(inst.home / "bin" / "neo4j"), "console"]
    settings.NEO4J_STOP_COMMAND = [*service, "stop", *state]
    settings.NEO4J_STATUS_COMMAND = [*service, "status", *state]
    settings.NEO4J_SWITCH_COMMAND = []
    settings.NEO4J_URL = f"bolt://127.0.0.1:{BOLT_PORT}"
    settings.NEO4J_USER, settings.NEO4J_PASS = "neo4j", password
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.BACKUP_DIR.mkdir()
    monkeypatch.setattr(run_requests, "enqueue", lambda run: None)  # carried out here, not by the suite's worker
    target = get_target()
    try:
        target.start()
        yield target, inst, tmp_path / "service"
    finally:
        target.stop()
        target.release_stopped()


def supervisor_runs_neo4j(service: Path) -> bool:
    """The server is the supervisor's child, started by it (not by the project's instance manager)."""
    supervisor, main = (int((service / f"{name}.pid").read_text()) for name in ("supervisor", "main"))
    ppid = int(Path(f"/proc/{main}/stat").read_text().rsplit(")", 1)[1].split()[1])
    return ppid == supervisor and "java" in Path(f"/proc/{main}/cmdline").read_bytes().decode(errors="replace")


class WorkerDied(BaseException):
    pass


def test_backup_and_restore_round_trip_under_a_service_manager_on_518(supervised, alice, monkeypatch):
    target, inst, service = supervised
    assert target.neo4j_version() == NEO4J_518_VERSION
    assert target.is_up() and supervisor_runs_neo4j(service)
    assert target.data_dir == inst.home / "data"  # read from neo4j.conf
    assert target.query("CALL dbms.components() YIELD versions RETURN versions[0]") == [[NEO4J_518_VERSION]]
    seed_graph(target, "svc")
    backed_up = graph_snapshot(target)

    run = engine.execute(services.request_backup(alice, target=target).pk)
    assert run.status == "succeeded", run.error
    backup = Backup.objects.get()
    assert backup.neo4j_version == NEO4J_518_VERSION and backup.node_count == 50
    assert target.is_up() and supervisor_runs_neo4j(service)

    target.query("MATCH (n:AlchemicalNetwork) SET n.weight = -1")
    seed_graph(target, "later", n=3)
    assert graph_snapshot(target) != backed_up

    restore = engine.execute(services.request_restore(backup, "neo4j", alice, target=target).pk)
    assert restore.status == "succeeded", restore.error
    assert target.is_up() and graph_snapshot(target) == backed_up
    assert not aside_dir(target).exists()
    steps = {s.name: s for s in restore.steps.all()}
    assert steps["verify"].status == "ok"

    # A restore whose worker dies after the swap, before the start (the service stopped, the loaded store in place):
    # recovery swaps the previous data back and starts the service again.
    target.query("MATCH (n:AlchemicalNetwork) SET n.weight = -2")
    changed = graph_snapshot(target)

    def die(self, ctx):
        raise WorkerDied()

    monkeypatch.setattr(RestoreProcedure, "start_restored", die)
    run = services.request_restore(backup, "neo4j", alice, target=target)
    with pytest.raises(WorkerDied):
        engine.execute(run.pk, worker=f"ghost@{socket.gethostname()}", worker_pid=2**22 + 1)
    assert aside_dir(target).exists() and not target.is_up()
    assert [r.pk for r in recovery.recover_interrupted(f"rescuer@{socket.gethostname()}")] == [run.pk]
    run.refresh_from_db()
    assert run.status == "interrupted" and "started Neo4j on the previous data" in run.error
    assert target.is_up() and supervisor_runs_neo4j(service) and graph_snapshot(target) == changed
    assert not aside_dir(target).exists() and not target.staging_dir().exists()

    # Stopped by its stop command (the fixture's teardown), the supervisor says so and the target sees it.
    target.stop()
    assert not target.is_up() and not (service / "supervisor.pid").exists()
