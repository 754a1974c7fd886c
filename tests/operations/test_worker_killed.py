"""A worker killed (SIGKILL) mid-dump: the next worker to start cleans up, makes sure Neo4j runs and marks the run
interrupted. The dump is of the snapshot, taken after Neo4j was started again: the kill never costs an outage."""

import os
import signal
import time

import pytest

from operations.backups import services
from operations.backups.procedures.dumps import in_progress_dir
from operations.models import Backup, OperationRun
from operations.runs import requests as run_requests
from operations.targets.docker import JOB_LABEL

from .conftest import dedicated_worker, graph_snapshot, seed_graph, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_worker_killed_mid_dump_is_recovered_by_the_next_worker(target, settings):
    queue = f"ops-kill-{os.getpid()}"
    settings.OPERATIONS_QUEUE = queue  # only our dedicated workers listen here
    seed_graph(target, "survive")
    before = graph_snapshot(target)
    files_before = set(target.backup_dir.iterdir())

    with dedicated_worker("doomed", queue) as doomed:
        run = wait_for(services.request_backup(label="test"), until="step:dump the snapshot")
        time.sleep(1.0)  # let neo4j-admin get going
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait()
        doomed_node = doomed.node

    run.refresh_from_db()
    assert run.status == "running" and run.worker == doomed_node  # nobody has noticed yet
    assert target.is_up()  # the outage was over before the dump began

    with dedicated_worker("rescuer", queue):
        run = wait_for(run, timeout=300)

    assert run.status == "interrupted"
    assert f"the worker {doomed_node}" in run.error and "step 7 of 12 (dump the snapshot)" in run.error
    assert "Neo4j was running" in run.error and f"removed {target.snapshot_dir()}" in run.error
    assert run.steps.get(name="dump the snapshot").status == "interrupted"
    assert run.steps.get(name="name the backup").status == "skipped"
    assert target.is_up() and graph_snapshot(target) == before
    # The unfinished dump is gone and never became a backup.
    assert not in_progress_dir(target).exists() and not target.snapshot_dir().exists()
    assert set(target.backup_dir.iterdir()) == files_before
    assert Backup.objects.count() == 0
    assert run_requests.active_run(target.name) is None
    assert OperationRun.objects.get().pk == run.pk
    assert_no_admin_job_left(target)


def test_pool_process_killed_mid_dump_is_recovered_by_its_own_worker(target, settings):
    """Only the process running the task dies (as under the OOM killer); the worker itself recovers at once."""
    queue = f"ops-child-{os.getpid()}"
    settings.OPERATIONS_QUEUE = queue
    seed_graph(target, "survive")
    before = graph_snapshot(target)
    files_before = set(target.backup_dir.iterdir())

    with dedicated_worker("parent", queue) as worker:
        run = wait_for(services.request_backup(label="test"), until="step:dump the snapshot")
        time.sleep(1.0)
        assert run.worker_pid != worker.pid
        os.kill(run.worker_pid, signal.SIGKILL)
        run = wait_for(run, timeout=300)
        assert worker.poll() is None  # the worker lives on

    assert run.status == "interrupted"
    assert "died" in run.error and "step 7 of 12 (dump the snapshot)" in run.error and "Neo4j was running" in run.error
    assert not target.snapshot_dir().exists()
    assert target.is_up() and graph_snapshot(target) == before
    assert set(target.backup_dir.iterdir()) == files_before and Backup.objects.count() == 0
    assert run_requests.active_run(target.name) is None
    assert_no_admin_job_left(target)


def assert_no_admin_job_left(target):
    """The killed neo4j-admin left nothing behind: no process, and on Docker no container, running or exited."""
    assert target.stop_admin() == []
    if target.name == "docker":
        label = f"{JOB_LABEL}={target.project}/{target.service}"
        assert target.client().containers.list(all=True, filters={"label": label}) == []
