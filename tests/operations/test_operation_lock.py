"""While an operation holds the local Neo4j stopped (an offline dump), the project's own scripts do not start it,
and a run notices a server that appeared under it anyway (docs/reliability.md, faults 9). One stop and start."""

import os
import subprocess
import sys

import pytest

from operations import neo4j_lock
from operations.backups.procedures import dumps
from operations.models import OperationRun
from operations.runs.contract import OperationFailed, RunContext

from .conftest import ROOT

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("target", ["local"], indirect=True)
def test_scripts_respect_the_operation_lock_and_a_run_notices_a_server_started_under_it(target):
    services_up = [sys.executable, "scripts/services.py", "up", "--profile", "test"]
    env = {**os.environ}
    home = subprocess.run(
        [*services_up[:2], "env", "--profile", "test"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert f"PORTAL_NEO4J_HOME={target.home}" in home, "the test profile is not this target's instance"
    run = OperationRun.objects.create(kind="backup", target="local", requested_by_label="test")
    ctx = RunContext(run, target)

    assert dumps.stop(ctx) == "Neo4j stopped"  # as a backup does: from here Neo4j is held stopped
    proc = subprocess.run(services_up, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "held stopped by a portal operation" in proc.stderr and f"pid {os.getpid()}" in proc.stderr
    assert target.pid() is None  # not started
    # The same from the instance's own command line.
    proc = subprocess.run(
        [sys.executable, "-m", "devtools.local_neo4j", "start", "--home", str(target.home)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0 and "held stopped by a portal operation" in proc.stderr
    assert target.pid() is None

    # Something that ignores the lock starts it anyway: the dump refuses and says so.
    ignoring = (
        "import sys; from devtools.local_neo4j import Neo4jInstance; i = Neo4jInstance.load(sys.argv[1]); "
        "i.refuse_if_held = lambda: None; i.start(timeout=float(sys.argv[2]))"
    )
    subprocess.run(
        [sys.executable, "-c", ignoring, str(target.home), str(target.start_timeout)],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=target.start_timeout + 30,
    )
    with pytest.raises(OperationFailed) as failure:
        dumps.dump(ctx)
    assert "Neo4j is running again although this run stopped it" in str(failure.value)
    assert not dumps.in_progress_dir(target).exists()
    assert neo4j_lock.holder(target.operation_lock_file) is None  # asked from this process, which holds it
    assert "held stopped" in subprocess.run(services_up, cwd=ROOT, env=env, capture_output=True, text=True).stderr

    target.release_stopped()  # what the runner does when a run ends
    proc = subprocess.run(services_up, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    target.wait_for_bolt()
