"""Reads of the portal's database must not stand in the way of a run's writes: the 503 page, asked many times a
second during an outage, reads it once for many answers; and in SQLite's WAL mode a reader's long read transaction
does not hold up a write.
"""

import subprocess
import sys
import time

import pytest
from django.db import connection
from django.db.backends.signals import connection_created
from django.test.utils import CaptureQueriesContext

from operations.backups.procedures.backup import BackupProcedure
from operations.models import OperationRun
from operations.runs import requests as run_requests
from operations.runs import unavailable

# Holds the database named by argv[1] with the statements of argv[2] (the write lock, or a read transaction) until
# its stdin closes: another process, as the web server is to the worker.
HOLDER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
for statement in sys.argv[2].split(";"):
    db.execute(statement)
print("locked", flush=True)
sys.stdin.read()
db.execute("COMMIT")
"""


def hold_database(path: str, statement: str = "BEGIN IMMEDIATE") -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, path, statement], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def let_go(proc: subprocess.Popen) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(30)


@pytest.fixture
def refusing():
    """Makes the database refuse writes (and accept them again): on the open connection and on any the runner
    opens meanwhile; accepting them again afterwards, whatever happened."""
    if connection.vendor != "sqlite":
        pytest.skip("the refusal is SQLite's query_only")
    on = [False]

    def apply(sender=None, connection=connection, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA query_only = {int(on[0])}")

    def refuse(refuse: bool) -> None:
        on[0] = refuse
        if connection.connection is not None:
            apply()

    connection_created.connect(apply)
    yield refuse
    connection_created.disconnect(apply)
    refuse(False)


def _statuses(run):
    return {s.name: s.status for s in run.steps.all()}


# -- the 503 page ---------------------------------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.django_db
def test_the_503_page_reads_the_portal_database_once_for_many_requests(fake_target, settings):
    settings.OPERATIONS_TARGET = fake_target.name
    unavailable.forget()
    run = run_requests.request(BackupProcedure(fake_target, {}), user=None, label="test", send=False)
    OperationRun.objects.filter(pk=run.pk).update(status="running")
    with CaptureQueriesContext(connection) as queries:
        answers = {unavailable.explain()[0] for _ in range(50)}
    k, n = run.current_position()
    assert answers == {
        f"state store unavailable: backup #{run.pk} is running (step {k} of {n}), back when the run starts Neo4j again"
    }
    assert len(queries) <= 3, [q["sql"] for q in queries]


# -- the portal's SQLite database: readers never hold a writer up -------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_long_read_transaction_does_not_hold_up_a_write(monkeypatch):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's locking")
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "timeout", 2)
    connection.close()  # the next query opens a connection with the short timeout
    reader = hold_database(connection.settings_dict["NAME"], "BEGIN; SELECT count(*) FROM operations_operationrun")
    try:
        began = time.monotonic()
        OperationRun.objects.create(kind="backup", target="fake", status="cancelled", requested_by_label="test")
        assert time.monotonic() - began < 1.5  # under the busy timeout: it did not wait for the reader
    finally:
        let_go(reader)
