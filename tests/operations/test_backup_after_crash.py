"""A backup after Neo4j crashed (its process died, the pid file stayed) tells the crash from a deliberate stop
(docs/reliability.md, faults 8): the status page says so, the run says it loudly (log, error, the command's last
line), records it, and Neo4j is started again after the dump. One scenario, on the local target."""

import io
import os
import re
import signal
import time

import pytest
from django.core.management import call_command
from django.urls import reverse

from operations.models import OperationRun
from operations.processes import pid_alive as _pid_alive

from .conftest import graph_snapshot, seed_graph

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _target_row(client) -> str:
    html = client.get(reverse("system-status")).content.decode()
    return re.search(r'data-component="Operations target">(.*?)</tr>', html, re.S).group(1)


@pytest.mark.parametrize("target", ["local"], indirect=True)
def test_backup_after_a_crash(target, celery_worker_process, alice_client):
    seed_graph(target, "crash")
    before = graph_snapshot(target)
    pid = target.pid()
    os.kill(pid, signal.SIGKILL)  # what the out-of-memory killer does
    while _pid_alive(pid):
        time.sleep(0.1)
    assert target.pid_file.exists() and not target.is_up()

    row = _target_row(alice_client)
    assert "crashed" in row and str(pid) in row

    out = io.StringIO()
    call_command("backup", stdout=out)
    run = OperationRun.objects.get()
    assert run.status == "succeeded"
    assert run.state["neo4j_crashed"] and str(pid) in run.state["neo4j_crashed"]
    assert "crashed" in run.error
    assert any(e["level"] == "error" and "crashed" in e["message"] for e in run.log), run.log
    last = out.getvalue().strip().splitlines()[-1]
    assert last.startswith("WARNING") and "crashed" in last and "started again" in last

    assert target.is_up() and target.pid() != pid
    assert graph_snapshot(target) == before
    assert "crashed" in _target_row(alice_client)  # the page still tells what the last run found
