"""A run's log goes through logging (operations/runs/runlog.py): one row per line, one INSERT whatever the log's length,
secrets masked, other records left alone; what the run page, its feed and `manage.py operations --show` print."""

import io
import logging

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from operations.models import OperationRun, RunLogLine
from operations.runs import contract
from operations.runs.runlog import RunLogHandler, log_line, run_logger

pytestmark = [pytest.mark.unit, pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def run():
    return OperationRun.objects.create(kind="backup", target="fake", requested_by_label="test", status="running")


def test_the_handler_is_wired_and_keeps_every_level(run, settings):
    assert any(isinstance(h, RunLogHandler) for h in run_logger.handlers), "LOGGING lost the run log's handler"
    log_line(run.pk, "first", step="dump")
    log_line(run.pk, "careful", "warning")
    log_line(run.pk, "broken", "error", step="load")
    assert [(e["level"], e["step"], e["message"]) for e in run.log] == [
        ("info", "dump", "first"),
        ("warning", "", "careful"),
        ("error", "load", "broken"),
    ]
    assert run.log[0]["at"] <= run.log[1]["at"] <= run.log[2]["at"]


def test_each_line_is_one_insert_however_long_the_log(run):
    ctx = contract.RunContext(run, target=None)
    for i in range(200):
        ctx.log(f"line {i} " + "x" * 500)
    with CaptureQueriesContext(connection) as queries:
        ctx.log("one more")
    assert len(queries) == 1 and queries[0]["sql"].upper().startswith("INSERT"), queries.captured_queries
    assert len(run.log) == 201 and run.log[-1]["message"] == "one more"


def test_step_output_is_appended_in_the_database(run):
    step = run.steps.create(position=1, name="dump")
    ctx = contract.RunContext(run, target=None)
    ctx.step = step
    ctx.output("a" * 10_000)
    with CaptureQueriesContext(connection) as queries:
        ctx.output("tail")
    assert len(queries) == 1 and queries[0]["sql"].upper().startswith("UPDATE")
    assert "a" * 100 not in queries[0]["sql"]  # the 10,000 characters already there are not sent again
    step.refresh_from_db()
    assert step.output == "a" * 10_000 + "\ntail\n"


def test_secrets_never_reach_the_log(run, settings):
    log_line(run.pk, f"connecting to bolt://neo4j:hunter2-secret@127.0.0.1:7687 with {settings.NEO4J_PASS}")
    (message,) = [e["message"] for e in run.log]
    assert "hunter2-secret" not in message and settings.NEO4J_PASS not in message
    assert "bolt://neo4j:********@127.0.0.1:7687" in message


def test_records_of_no_run_are_not_stored(run):
    run_logger.info("a line of no run")
    logging.getLogger("operations.runs.engine").warning("the module's own logger")
    assert RunLogLine.objects.count() == 0


def test_pages_feed_and_command_show_the_lines(run, alice_client):
    log_line(run.pk, "dumping now", step="dump")
    log_line(run.pk, "it <went> wrong", "error")
    page = alice_client.get(reverse("admin:operations_operationrun_change", args=[run.pk])).content.decode()
    assert "[dump] dumping now" in page and "it &lt;went&gt; wrong" in page
    feed = alice_client.get(reverse("admin:operations_operationrun_progress", args=[run.pk])).json()
    assert [e["message"] for e in feed["log"]] == ["dumping now", "it <went> wrong"]
    out = io.StringIO()
    call_command("operations", "--show", str(run.pk), stdout=out)
    assert " info dumping now" in out.getvalue() and " error it <went> wrong" in out.getvalue()


def test_lines_go_with_their_run(run):
    log_line(run.pk, "bye")
    run.delete()
    assert RunLogLine.objects.count() == 0
