"""The run page's progress bar and outage window (issue: run pages mark the outage live), on the stand-in target:
while the dump runs inside the outage the page says Neo4j is unavailable now and marks the steps in the window;
afterwards it says for how long, and the bar is full."""

import pytest
from django.urls import reverse

from operations.backups.procedures.backup import BackupProcedure
from operations.models import OperationRun
from operations.runs import engine
from operations.runs import requests as run_requests

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


def test_the_outage_is_marked_live_then_measured(fake_target, alice_client):
    seen = {}
    run = run_requests.request(BackupProcedure(fake_target, {}), user=None, label="test", send=False)
    page = reverse("admin:operations_operationrun_change", args=[run.pk])

    def dump(args):  # neo4j-admin's dump, inside the outage: look at the page as an operator would meanwhile
        (fake_target.backup_dir / ".in-progress-fake" / "neo4j.dump").write_bytes(b"a dump")
        seen["progress"] = OperationRun.objects.get(pk=run.pk).progress()
        seen["page"] = alice_client.get(page).content.decode()
        return 0, "Done"

    fake_target.on_admin = dump
    done = engine.execute(run.pk)
    assert done is not None and done.status == "succeeded", done.error

    during = seen["progress"]
    assert during["outage"]["live"] and during["outage"]["ended"] is None and during["outage"]["seconds"] >= 0
    assert 0 < during["steps_over"] < during["steps_total"]
    marked = [s["name"] for s in during["steps"] if s["in_outage"]]
    assert marked[0] == "stop Neo4j" and marked[-1] == "dump", marked  # the stop, and everything since, so far
    assert "Neo4j is unavailable now" in seen["page"] and 'class="errornote">Neo4j is unavailable now' in seen["page"]

    after = OperationRun.objects.get(pk=run.pk).progress()
    assert after["steps_over"] == after["steps_total"] and not after["outage"]["live"]
    assert after["outage"]["seconds"] is not None and after["outage"]["seconds"] >= 0
    marked = [s["name"] for s in after["steps"] if s["in_outage"]]
    assert marked[0] == "stop Neo4j" and marked[-1] == "start Neo4j", marked
    assert all(s["seconds"] is not None for s in after["steps"] if s["status"] == "ok")
    html = alice_client.get(page).content.decode()
    n = after["steps_total"]
    assert f'<progress id="progress-bar" max="{n}" value="{n}"' in html
    assert "Neo4j was unavailable for" in html and "Neo4j is unavailable now" not in html
    assert html.count('class="in-outage"') == len(marked)


def test_a_run_that_never_stopped_neo4j_shows_no_outage(fake_target, alice_client):
    run = run_requests.request(BackupProcedure(fake_target, {}), user=None, label="test", send=False)
    progress = run.progress()
    assert progress["outage"] is None and progress["steps_over"] == 0
    assert not any(s["in_outage"] for s in progress["steps"])
    html = alice_client.get(reverse("admin:operations_operationrun_change", args=[run.pk])).content.decode()
    assert '<p id="outage" class="" style="display:none">' in html
