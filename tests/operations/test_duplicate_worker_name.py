"""A second worker started with the same node name took the first one's running dump for the remains of a dead
worker (same name), stopped it and lost the backup (issue 26, faults 3). A run whose claiming process is a live
Celery worker is now left alone, whatever name the newcomer has; a claimant that is gone, or a pid now used by
something else, is still recovered. Real processes stand in for the workers (a process whose command line names
celery, and a plain sleep)."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from django.utils import timezone

from operations.models import OperationRun, RunStatus
from operations.runs import recovery

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

NAME = f"portal@{socket.gethostname()}"


def _running(pid: int) -> OperationRun:
    return OperationRun.objects.create(
        kind="backup",
        target="local",
        status=RunStatus.RUNNING,
        requested_by_label="t",
        started_at=timezone.now(),
        worker=NAME,
        worker_pid=pid,
    )


@pytest.fixture
def celery_like():
    """A live process whose command line says celery, as a worker's pool process does."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "celery", "worker"])
    yield proc.pid
    proc.kill()
    proc.wait()


def test_a_live_worker_of_the_same_name_keeps_its_run(celery_like):
    run = _running(celery_like)
    assert recovery.worker_gone(run, NAME) is False


def test_a_dead_claimant_or_a_reused_pid_is_recovered():
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert recovery.worker_gone(_running(gone.pid), NAME) is True
    other = subprocess.Popen(["sleep", "30"])
    try:
        OperationRun.objects.all().delete()
        assert recovery.worker_gone(_running(other.pid), NAME) is True  # alive, but no worker
    finally:
        other.kill()
        other.wait()
