"""Two requests for the same target at the same moment, each on its own database connection: exactly one is
accepted, the other refused naming it (the partial unique constraint of docs/runs.md, not a check-then-insert).
Run on SQLite and, in scripts/test.sh's second pass, on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid

import pytest
import redis
from django.conf import settings
from django.db import connection

from operations.backups import services
from operations.models import OperationRun
from operations.runs import contract
from operations.runs import requests as run_requests
from tests.conftest import worker_database_url

from .conftest import ROOT

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_two_threads_with_their_own_connections_get_exactly_one_run():
    for round_ in range(5):
        start = threading.Barrier(2)
        outcomes: list[object] = []

        def ask(name: str) -> None:
            try:
                start.wait(10)
                outcomes.append(services.request_backup(label=name, send=False))
            except contract.OperationBusy as exc:
                outcomes.append(exc)
            finally:
                connection.close()  # this thread's own connection

        threads = [threading.Thread(target=ask, args=(f"racer-{round_}-{i}",)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        accepted = [o for o in outcomes if isinstance(o, OperationRun)]
        refused = [o for o in outcomes if isinstance(o, contract.OperationBusy)]
        assert len(accepted) == 1 and len(refused) == 1, outcomes
        assert refused[0].running is None or refused[0].running.pk == accepted[0].pk
        assert list(OperationRun.objects.filter(status="pending")) == accepted
        run_requests.cancel(accepted[0].pk, "test")


def test_two_processes_backup_no_wait_exactly_one_is_accepted():
    # Their messages go to a queue of this test's own that no worker consumes; it is removed afterwards.
    queue = f"race-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "PORTAL_OPERATIONS_QUEUE": queue,
        "PORTAL_OPERATIONS_QUEUES": "",
    }
    try:
        procs = [
            subprocess.Popen(
                [sys.executable, "manage.py", "backup", "--no-wait"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        results = [(p.wait(120), *p.communicate()) for p in procs]
        accepted = [r for r in results if r[0] == 0]
        refused = [r for r in results if r[0] != 0]
        assert len(accepted) == 1 and len(refused) == 1, results
        run = OperationRun.objects.get()
        assert f"backup #{run.pk} requested" in accepted[0][1]
        assert "backup refused: another operation is already active" in refused[0][2]
        assert run.status == "pending" and run.queue == queue
        run_requests.cancel(run.pk, "test")
    finally:
        redis.Redis.from_url(settings.REDIS_URL).delete(queue)
