"""The scenario of issue "runs that never get stuck", replayed on each target: a backup is requested while no worker
runs, the broker loses its message (a real Redis, flushed), a worker starts and the run completes without anyone
acting; later backups are accepted. Also `backup --here`, which needs no worker at all.

The broker here is a database of its own on the test Redis server, so flushing it leaves the shared worker alone.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
import redis
from django.conf import settings
from django.core.management import call_command

from operations.backups import services
from operations.models import Backup, OperationRun
from operations.runs import contract
from operations.runs import requests as run_requests
from tests.conftest import worker_database_url

from .conftest import ROOT, dedicated_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _own_broker() -> str:
    base, _, _db = settings.REDIS_URL.rpartition("/")
    return f"{base}/{7 + int(os.environ.get('PORTAL_TEST_SLOT', '0') or 0) % 8}"


def test_a_lost_message_heals_itself_and_later_backups_are_accepted(target, settings):
    queue, broker = f"lost-{target.name}-{os.getpid()}", _own_broker()
    env = {
        "REDIS_URL": broker,
        "PORTAL_OPERATIONS_QUEUE": queue,
        "PORTAL_OPERATIONS_TARGET": target.name,
        "DATABASE_URL": worker_database_url(),
    }
    broker_db = redis.Redis.from_url(broker)
    broker_db.flushdb()

    requested = subprocess.run(
        [sys.executable, "manage.py", "backup", "--no-wait"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert requested.returncode == 0, requested.stderr
    run = OperationRun.objects.get()
    assert f"no worker is consuming queue {queue!r}" in requested.stderr
    assert broker_db.llen(queue) == 1, "the run's message should wait in the broker"

    broker_db.flushdb()  # what a Redis restart without persistence does to waiting messages
    assert broker_db.llen(queue) == 0
    settings.OPERATIONS_QUEUE = queue
    with pytest.raises(contract.OperationBusy, match=f"backup #{run.pk} \\(pending\\)"):
        services.request_backup(label="meanwhile")

    with dedicated_worker(
        f"heal-{target.name}",
        queue,
        env={**env, "PORTAL_RESEND_GRACE_SECONDS": "1", "PORTAL_SWEEP_INTERVAL_SECONDS": "1"},
    ):
        run = wait_for(run, timeout=240)
    assert run.status == "succeeded", run.error
    assert run.send_count >= 2
    assert any("sending the run to queue" in entry["message"] for entry in run.log)
    assert Backup.objects.get().made_by_run == run and (target.backup_dir / Backup.objects.get().file_name).is_file()

    later = services.request_backup(label="later")
    assert later.status == "pending"
    run_requests.cancel_run(later.pk, None, label="cli:test")


# One target is enough: --here only changes which process carries out the same procedure.
@pytest.mark.parametrize("target", ["local"], indirect=True)
def test_backup_here_runs_in_the_calling_process(target, settings):
    settings.OPERATIONS_QUEUE = f"nobody-listens-{os.getpid()}"
    out = io.StringIO()
    call_command("backup", "--here", stdout=out, stderr=io.StringIO())
    run = OperationRun.objects.get()
    assert run.status == "succeeded" and run.worker.endswith("(--here)") and run.worker_pid == os.getpid()
    assert run.send_count == 0, "a run carried out here is never handed to the broker"
    assert Backup.objects.get().file_name in out.getvalue()
