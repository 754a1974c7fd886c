"""When the portal's own database refuses a write in the middle of a run, a run that stopped Neo4j still starts it
again, and records the truth once the database answers (docs/runs.md "When the portal's database refuses a write").

The unit tests make the database refuse for real (SQLite's ``PRAGMA query_only`` on the test connection) and run a
backup on the stand-in target; the engine's pause between its attempts to record the run's end is where the
refusal is lifted, standing in for the time a lock takes to go away. The scenario test does it to the real local
Neo4j, with another process holding the portal's SQLite file locked (``BEGIN IMMEDIATE``) from the moment the
backup's outage begins until well after the busy timeout.
"""

import os
import subprocess
import sys
import threading
import time

import pytest
from django.db import connection
from django.db.backends.signals import connection_created
from django.test.utils import CaptureQueriesContext

from operations.backups import services
from operations.backups.procedures import dumps
from operations.backups.procedures.backup import SHORT_OUTAGE, BackupProcedure
from operations.models import OperationRun, RunLogLine
from operations.runs import engine, recovery, unavailable
from operations.runs import requests as run_requests
from operations.runs.contract import RunContext
from scripts.postgres import profile_server

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


# -- unit tier: the stand-in target, a database that really refuses ------------------------------------------------


@pytest.mark.unit
@pytest.mark.django_db(transaction=True)  # as in a worker: no transaction around the run, autocommit
def test_a_refused_write_during_the_outage_still_starts_neo4j_and_the_run_is_recorded_later(
    fake_target, monkeypatch, refusing
):
    real_stop = fake_target.stop

    def stop_then_refuse():
        real_stop()
        refusing(True)

    fake_target.stop = stop_then_refuse
    pauses: list[float] = []

    def pause(seconds):
        pauses.append(seconds)
        if len(pauses) == 3:  # the database answers again after the third attempt
            refusing(False)

    monkeypatch.setattr(engine, "pause", pause, raising=False)
    run = run_requests.request(BackupProcedure(fake_target, {}), user=None, label="test", send=False)
    finished = engine.execute(run.pk)
    assert fake_target.up and fake_target.calls.index(("start",)) > fake_target.calls.index(("stop",))
    assert len(pauses) == 3 and pauses == sorted(pauses)
    run.refresh_from_db()
    assert finished is not None and finished.status == run.status == "errored"
    assert "the portal's database refused a write" in run.error and "readonly database" in run.error
    statuses = _statuses(run)
    assert statuses["stop Neo4j"] == "ok" and statuses["start Neo4j"] == "ok"
    assert statuses["dump"] == statuses["name the backup"] == statuses["checksum and catalog"] == "skipped"
    assert run.state["outage_started"] and run.state["outage_ended"]
    # What was logged while nothing could be written is in the run's log now, at the time it happened.
    messages = [line.message for line in RunLogLine.objects.filter(run=run).order_by("at", "pk")]
    assert any(m.startswith("step 5 of 9: start Neo4j") for m in messages), messages
    assert messages[-1].startswith("backup errored")


@pytest.mark.unit
@pytest.mark.django_db(transaction=True)
def test_a_refused_write_after_neo4j_is_back_ends_the_run_and_frees_the_target(fake_target, monkeypatch, refusing):
    real_final_name = dumps.final_name

    def refuse_then_name(ctx: RunContext) -> str:
        refusing(True)
        return real_final_name(ctx)

    def dump(args):
        (fake_target.backup_dir / ".in-progress-fake" / "neo4j.dump").write_bytes(b"a dump")
        return 0, ""

    fake_target.on_admin = dump
    monkeypatch.setattr(dumps, "final_name", refuse_then_name)
    monkeypatch.setattr(engine, "pause", lambda seconds: refusing(False), raising=False)
    run = run_requests.request(BackupProcedure(fake_target, {}), user=None, label="test", send=False)
    engine.execute(run.pk)
    run.refresh_from_db()
    assert run.status == "errored" and "refused a write during step 6 (name the backup)" in run.error, run.error
    statuses = _statuses(run)
    assert statuses["start Neo4j"] == "ok" and statuses["name the backup"] == "failed", statuses
    assert statuses["checksum and catalog"] == "skipped" and fake_target.up
    # The target is free for the next run.
    again = run_requests.request(BackupProcedure(fake_target, {}), user=None, label="test", send=False)
    assert again.status == "pending"


@pytest.mark.unit
@pytest.mark.django_db(transaction=True)
def test_recovery_starts_neo4j_and_records_the_run_when_the_database_refuses_meanwhile(
    fake_target, monkeypatch, refusing
):
    run = run_requests.request(BackupProcedure(fake_target, {}), user=None, label="test", send=False)
    OperationRun.objects.filter(pk=run.pk).update(status="running", worker="me", state={"was_running": True})
    fake_target.up = False

    def refuse_then_stop_admin():
        refusing(True)
        return []

    fake_target.stop_admin = refuse_then_stop_admin
    monkeypatch.setattr(engine, "pause", lambda seconds: refusing(False), raising=False)
    assert recovery.recover_run(OperationRun.objects.get(pk=run.pk), "me", "the worker me stopped")
    assert fake_target.up
    run.refresh_from_db()
    assert run.status == "interrupted" and "recovered: " in run.error and "Neo4j started again" in run.error
    assert any(e["message"].startswith("recovered: ") for e in run.log), run.log


@pytest.mark.unit
@pytest.mark.django_db
def test_neo4j_is_started_again_when_the_run_is_torn_down_between_its_stop_and_its_start(fake_target, monkeypatch):
    def die(ctx: RunContext) -> str:
        raise SystemExit("the worker is shutting down")

    monkeypatch.setattr(dumps, "dump", die)
    run = run_requests.request(BackupProcedure(fake_target, {}), user=None, label="test", send=False)
    with pytest.raises(SystemExit):
        engine.execute(run.pk)
    assert fake_target.up and fake_target.calls.index(("start",)) > fake_target.calls.index(("stop",))
    run.refresh_from_db()
    assert any("no step started it again: starting it now" in e["message"] for e in run.log)


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


# -- scenario tier: the real local Neo4j, the portal's SQLite file locked by another process ------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("target", ["local"], indirect=True)
def test_neo4j_comes_back_while_the_portal_database_is_locked_and_the_run_ends_recorded(target, monkeypatch):
    if connection.vendor != "sqlite":
        pytest.skip("the lock is SQLite's")
    db_file = connection.settings_dict["NAME"]
    # The runner's thread opens its own connection: a short busy timeout there keeps the test to seconds (the
    # portal's is 30 s); what matters is that the lock outlasts it.
    busy = 2
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "timeout", busy)
    monkeypatch.setattr(engine, "FIRST_PAUSE", 0.5, raising=False)
    monkeypatch.setattr(run_requests, "enqueue", lambda run: None)
    holder: list[subprocess.Popen] = []
    outage_began = threading.Event()
    real_stop = dumps.stop

    def stop_then_lock(ctx):
        out = real_stop(ctx)
        holder.append(hold_database(db_file))
        outage_began.set()
        return out

    monkeypatch.setattr(dumps, "stop", stop_then_lock)
    run = services.request_backup(label="test")
    assert run.params["procedure"] == SHORT_OUTAGE, run.params
    worker = threading.Thread(target=engine.execute, args=(run.pk,))
    worker.start()
    try:
        assert outage_began.wait(300)
        began = time.monotonic()
        restart = 120  # a generous bound for one start of Neo4j on a busy machine
        while not target.is_up() or not _answers(target):
            assert time.monotonic() - began < busy + restart, "Neo4j did not come back while the lock was held"
            time.sleep(0.2)
        back_after = time.monotonic() - began
        time.sleep(busy * 2)  # the lock is held for longer still: nothing is recorded meanwhile
        run.refresh_from_db()
        assert run.status == "running"
    finally:
        if holder:
            let_go(holder[0])
        worker.join(300)
    assert not worker.is_alive()
    run.refresh_from_db()
    print(f"Neo4j answered {back_after:.1f} s after the outage began (busy timeout {busy} s)")
    assert run.status == "errored" and "the portal's database refused a write" in run.error, run.error
    assert "database is locked" in run.error
    statuses = _statuses(run)
    assert statuses["stop Neo4j"] == "ok" and statuses["start Neo4j"] == "ok", statuses
    assert statuses["copy the store to a snapshot"] == "skipped" and statuses["remove the snapshot"] == "ok"
    assert run.state["outage_started"] and run.state["outage_ended"]
    # The target is free: no active run holds it, and no process holds the operation lock.
    assert not OperationRun.objects.filter(target="local", status__in=["pending", "running"]).exists()
    assert _lock_holder(target) is None
    assert not target.snapshot_dir().exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("target", ["local"], indirect=True)
def test_neo4j_comes_back_while_postgresql_is_unreachable_and_the_run_ends_recorded(target, monkeypatch):
    """The PostgreSQL pass: the portal's PostgreSQL server is stopped (every connection refused) from the moment the
    backup's outage begins until Neo4j has answered again for a while; then it is started again."""
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL pass stops its own server")
    server, _ = profile_server("test")
    assert server.running(), "the PostgreSQL pass's server is not where scripts/postgres.py keeps it"
    monkeypatch.setattr(engine, "FIRST_PAUSE", 0.5, raising=False)
    monkeypatch.setattr(run_requests, "enqueue", lambda run: None)
    outage_began = threading.Event()
    real_stop = dumps.stop

    def stop_then_unplug(ctx):
        out = real_stop(ctx)
        server.stop()
        outage_began.set()
        return out

    monkeypatch.setattr(dumps, "stop", stop_then_unplug)
    run = services.request_backup(label="test")
    worker = threading.Thread(target=_execute_and_close, args=(run.pk,))
    worker.start()
    try:
        assert outage_began.wait(300)
        began = time.monotonic()
        while not target.is_up() or not _answers(target):
            assert time.monotonic() - began < 120, "Neo4j did not come back while PostgreSQL was unreachable"
            time.sleep(0.2)
        back_after = time.monotonic() - began
        time.sleep(3)  # unreachable for longer still: the run waits to record its end
        assert worker.is_alive()
    finally:
        server.start()
        connection.close()  # this thread's connection died with the server
        worker.join(300)
    assert not worker.is_alive()
    run.refresh_from_db()
    print(f"Neo4j answered {back_after:.1f} s after the outage began, PostgreSQL down meanwhile")
    assert run.status == "errored" and "the portal's database refused a write" in run.error, run.error
    statuses = _statuses(run)
    assert statuses["stop Neo4j"] == "ok" and statuses["start Neo4j"] == "ok", statuses
    assert run.state["outage_started"] and run.state["outage_ended"]
    assert not OperationRun.objects.filter(target="local", status__in=["pending", "running"]).exists()
    assert _lock_holder(target) is None
    assert not target.snapshot_dir().exists()


def _execute_and_close(run_id: int) -> None:
    """The run, as a worker's thread does it, closing the thread's own connection afterwards."""
    try:
        engine.execute(run_id)
    finally:
        connection.close()


def _answers(target) -> bool:
    try:
        target.query("RETURN 1")
    except Exception:
        return False
    return True


def _lock_holder(target) -> str | None:
    """Who holds the operation lock, asked from another process (the lock is this process's own otherwise)."""
    code = (
        "import sys; from operations.neo4j_lock import holder; print(holder(__import__('pathlib').Path(sys.argv[1])))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(target.operation_lock_file)],
        capture_output=True,
        text=True,
        check=True,
        cwd=os.getcwd(),
    ).stdout.strip()
    return None if out == "None" else out


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
