"""While Neo4j does not answer, every page and command that reads it says so with a 503, not a traceback: naming
the backup that holds it stopped (step k of n, a link to the run), or plainly when it is down for another reason.

The real local Neo4j is stopped: first by hand, then by a real backup run (the runner in a thread of this process,
its snapshot step held back until the pages have been asked).
"""

import threading

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from operations.backups import services
from operations.backups.procedures.backup import BackupProcedure
from operations.runs import engine, unavailable
from operations.runs import requests as run_requests

pytestmark = pytest.mark.django_db(transaction=True)
PAGES = ["/admin/identity-scopes/", "/admin/identities/useridentity/", "/admin/identities/computeidentity/"]


def _assert_pages_say(client, words: str, link: str | None):
    for page in PAGES:
        response = client.get(page)
        html = response.content.decode()
        assert response.status_code == 503, (page, response.status_code)
        assert words in html and "Traceback" not in html and "ServiceUnavailable" not in html, page
        assert (link in html) if link else ('id="run-link"' not in html)
    with pytest.raises(CommandError, match=words.replace("(", r"\(").replace(")", r"\)")):
        call_command("identity", "list", "-t", "user")


@pytest.mark.parametrize("target", ["local"], indirect=True)
def test_pages_and_commands_explain_an_unavailable_state_store(target, alice_client, settings, monkeypatch):
    # Down for a reason of its own.
    target.stop()
    try:
        _assert_pages_say(alice_client, "state store unavailable: Neo4j does not answer", None)
    finally:
        target.start()
    assert alice_client.get(PAGES[0]).status_code == 200

    # Held stopped by a backup: its snapshot step waits until the pages have been asked.
    monkeypatch.setattr(run_requests, "enqueue", lambda run: None)
    reached, go_on = threading.Event(), threading.Event()
    real_snapshot = BackupProcedure.snapshot

    def held_snapshot(self, ctx):
        reached.set()
        assert go_on.wait(120)
        return real_snapshot(self, ctx)

    monkeypatch.setattr(BackupProcedure, "snapshot", held_snapshot)
    run = services.request_backup(label="test")
    unavailable.forget()  # the page read "no run" a moment ago and would say so for a second or two more
    worker = threading.Thread(target=engine.execute, args=(run.pk,))
    worker.start()
    try:
        assert reached.wait(300) and not target.is_up()
        words = f"state store unavailable: backup #{run.pk} is running (step 5 of 12), back when the run starts"
        _assert_pages_say(alice_client, words, reverse("admin:operations_operationrun_change", args=[run.pk]))
    finally:
        go_on.set()
        worker.join(300)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert alice_client.get(PAGES[0]).status_code == 200
    # The next backup's preview, and the page during its outage, can now say how long it lasts.
    assert "as in the last backup" in alice_client.get(reverse("admin:operations_backup_now")).content.decode()
