"""A 4.4 to 5 migration whose process is killed after the 4.4 data was set aside: recovery leaves it as it is,
and staff either roll it back (4.4 again, with its data) or resume it from the last completed step. On the local
and the Docker target (where a killed worker can also leave a neo4j-admin container running)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings

from devtools.local_neo4j import NEO4J_44_VERSION
from operations.models import AppliedMigration, OperationRun, OperationStep
from operations.runs.engine import execute
from operations.runs.recovery import recover_interrupted
from operations.upgrades import services
from operations.upgrades.neo4j_data import aside_dir
from tests.neo4j44 import ROOT, store44  # noqa: F401  (fixture)

NAME = "neo4j-4.4-to-5"
pytestmark = pytest.mark.django_db(transaction=True)


def run_and_kill_after(store, step: str) -> OperationRun:
    """``migrate-store --here`` in its own process group, killed (SIGKILL) once ``step`` has completed."""
    # --here runs it in that process; the store's env keeps the suite's shared worker (other settings) off it.
    env = {**os.environ, **store.env(settings), "DATABASE_URL": f"sqlite:///{settings.DATABASES['default']['NAME']}"}
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "migrate-store", NAME, "--confirm", NAME, "--here"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while not OperationStep.objects.filter(name=step, status="ok").exists():
        assert proc.poll() is None, proc.stdout.read().decode()
        assert time.monotonic() < deadline, f"step {step!r} did not complete within 300 s"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    run = OperationRun.objects.get()
    assert run.status == "running"
    recovered = recover_interrupted("test-worker")
    assert [r.pk for r in recovered] == [run.pk]
    run.refresh_from_db()
    assert run.status == "interrupted" and "resume or roll back" in run.error
    assert aside_dir_of(store).is_dir()  # nothing was moved behind staff's back
    assert AppliedMigration.objects.get(run=run).outcome == "interrupted"
    assert services.interrupted_runs() == [run]
    return run


def aside_dir_of(store):
    from operations.targets import get_target

    return aside_dir(get_target())


def test_interrupted_migration_rolled_back_gives_44_with_its_data(store44, alice):
    before = store44.everything()
    run = run_and_kill_after(store44, "set the 4.4 data aside")

    rollback = execute(services.roll_back(run.pk, user=alice, label="alice").pk)
    assert rollback.status == "succeeded", rollback.error
    assert [s.name for s in rollback.steps.all()] == [
        "check the migration applies",
        "put the 4.4 data back",
        "start Neo4j 4.4 again",
        "record the failed attempt",
    ]
    store44.assert_runs(NEO4J_44_VERSION)
    assert not aside_dir_of(store44).exists()
    assert store44.everything() == before
    assert AppliedMigration.objects.get(run=rollback).outcome == "rolled-back"
    assert services.interrupted_runs() == []


def test_interrupted_migration_resumed_from_last_completed_step(store44, alice, settings):
    settings.COMPOSE_ENV_FILE = ""  # the Docker target then says which .env line staff must set
    before = store44.everything()
    run = run_and_kill_after(store44, "set the 4.4 data aside")
    done = [s.name for s in run.steps.filter(status="ok")]
    assert done[-1] == "set the 4.4 data aside" or f"switch to Neo4j {store44.to_version}" in done

    resumed = execute(services.resume(run.pk, user=alice, label="alice").pk)
    assert resumed.status == "succeeded", resumed.error
    outputs = {s.name: s.output for s in resumed.steps.all()}
    assert all(f"already done in run #{run.pk}" in outputs[name] for name in done[1:])
    assert "already done" not in outputs[f"load with Neo4j {store44.to_version}"]
    store44.assert_runs(store44.to_version)
    assert store44.everything() == before
    assert AppliedMigration.objects.get(outcome="applied").run == resumed
    if store44.target_name == "docker":
        assert store44.env_file_image() == "neo4j:4.4"  # not configured, so not touched
        line = "set NEO4J_DOCKER_IMAGE=neo4j:5.26 in the deployment's .env by hand"
        switched = [
            s.output
            for s in (*run.steps.all(), *resumed.steps.all())
            if s.name == f"switch to Neo4j {store44.to_version}" and s.status == "ok" and "already done" not in s.output
        ]
        assert len(switched) == 1 and line in switched[0]
        assert f"To do: {line}" in outputs["record the migration"]
