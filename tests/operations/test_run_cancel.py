"""Cancelling a pending run (its page, the runs list's action, `manage.py operations cancel`), who may, and what a
running run says instead; the no-worker warnings before and after a request. No worker consumes the queue here."""

from __future__ import annotations

import html
import io
import os

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.urls import reverse

from operations.backups import services
from operations.models import OperationRun
from operations.runs import contract, engine
from operations.runs import requests as run_requests
from security import roles

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def nobody_listens(settings) -> str:
    settings.OPERATIONS_QUEUE = f"nobody-listens-{os.getpid()}"
    return settings.OPERATIONS_QUEUE


@pytest.fixture
def operator(django_user_model):
    user = django_user_model.objects.create_user("olga", "olga@example.org", "olga-password-1", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.OPERATOR))
    return user


def page(client, run: OperationRun) -> str:
    return html.unescape(client.get(reverse("admin:operations_operationrun_change", args=[run.pk])).content.decode())


def test_cancel_from_the_run_page_frees_the_target_and_a_late_message_does_nothing(
    alice_client, nobody_listens, celery_worker_process
):
    response = alice_client.get(reverse("admin:operations_backup_now"))
    assert f"No worker is consuming queue {nobody_listens!r}; the run waits until one starts" in html.unescape(
        response.content.decode()
    )

    response = alice_client.post(reverse("admin:operations_backup_now"), follow=True)
    run = OperationRun.objects.get()
    text = html.unescape(response.content.decode())
    assert f"Backup #{run.pk} requested" in text and f"No worker is consuming queue {nobody_listens!r}" in text
    assert "Waiting for a worker for" in text and 'id="cancel-run"' in text
    assert run.queue == nobody_listens and run.send_count == 1 and run.sent_at is not None

    response = alice_client.post(reverse("admin:operations_operationrun_cancel", args=[run.pk]), follow=True)
    text = html.unescape(response.content.decode())
    assert f"Backup #{run.pk} cancelled; no step had run" in text
    run.refresh_from_db()
    assert (run.status, run.cancelled_by_label) == ("cancelled", "alice") and run.cancelled_at is not None
    assert set(run.steps.values_list("status", flat=True)) == {"skipped"}
    assert "Cancelled by alice" in page(alice_client, run)

    # The message still sits in the broker; a worker that gets it later finds nothing to claim.
    assert engine.execute(run.pk) is None
    run.refresh_from_db()
    assert run.status == "cancelled" and run.started_at is None
    # The target is free: the next backup is accepted.
    assert services.request_backup(label="next").status == "pending"


def test_cancel_action_and_command(alice_client, nobody_listens, celery_worker_process):
    done = OperationRun.objects.create(kind="backup", target="elsewhere", status="succeeded", requested_by_label="x")
    run = services.request_backup(label="cli:someone")

    response = alice_client.post(
        reverse("admin:operations_operationrun_changelist"),
        {"action": "cancel_selected", "_selected_action": [run.pk, done.pk], "index": "0"},
        follow=True,
    )
    text = html.unescape(response.content.decode())
    assert (
        f"Cancelled #{run.pk}." in text and f"#{done.pk} not cancelled: backup #{done.pk} is already succeeded" in text
    )
    run.refresh_from_db()
    assert run.status == "cancelled"

    again = services.request_backup(label="cli:someone")
    out, err = io.StringIO(), io.StringIO()
    call_command("operations", "cancel", str(again.pk), stdout=out, stderr=err)
    assert f"backup #{again.pk} cancelled" in out.getvalue()
    again.refresh_from_db()
    assert again.status == "cancelled" and again.cancelled_by_label.startswith("cli:")
    with pytest.raises(CommandError, match="already cancelled"):
        call_command("operations", "cancel", str(again.pk), stdout=out)
    with pytest.raises(CommandError, match="there is no operation run #999999"):
        call_command("operations", "cancel", "999999", stdout=out)
    assert f"cancelled by {again.cancelled_by_label}" in _listing()


def _listing() -> str:
    out = io.StringIO()
    call_command("operations", stdout=out)
    return out.getvalue()


def test_only_those_who_may_request_a_kind_may_cancel_it(client, operator, nobody_listens, celery_worker_process):
    restore = OperationRun.objects.create(
        kind="restore", target="local", requested_by_label="cli:x", queue=nobody_listens
    )
    client.force_login(operator)
    assert 'id="cancel-run"' not in page(client, restore)
    response = client.post(reverse("admin:operations_operationrun_cancel", args=[restore.pk]))
    assert response.status_code == 403
    response = client.post(
        reverse("admin:operations_operationrun_changelist"),
        {"action": "cancel_selected", "_selected_action": [restore.pk], "index": "0"},
        follow=True,
    )
    assert "you may not cancel restore runs" in html.unescape(response.content.decode())
    restore.refresh_from_db()
    assert restore.status == "pending"


def test_a_running_run_says_why_it_cannot_be_cancelled(alice_client, nobody_listens, celery_worker_process):
    run = services.request_backup(label="x")
    # What a worker's claim does (engine.execute); the run itself is not carried out here.
    OperationRun.objects.filter(pk=run.pk).update(status="running", worker="w@host")
    with pytest.raises(contract.OperationFailed, match="cannot be cancelled mid-step") as refused:
        run_requests.cancel_run(run.pk, None, label="cli:x")
    assert "the next worker to start brings Neo4j back up" in str(refused.value)
    text = page(alice_client, run)
    assert "cannot be cancelled mid-step" in text and 'id="cancel-run"' not in text
    run.refresh_from_db()
    assert run.status == "running"
    OperationRun.objects.filter(pk=run.pk).update(status="failed")


def test_commands_warn_when_no_worker_consumes_the_queue(nobody_listens, alice_client, celery_worker_process):
    out, err = io.StringIO(), io.StringIO()
    call_command("backup", "--no-wait", stdout=out, stderr=err)
    run = OperationRun.objects.get()
    assert f"backup #{run.pk} requested" in out.getvalue()
    assert f"no worker is consuming queue {nobody_listens!r}; the run waits until one starts" in err.getvalue()
    assert "--here" in err.getvalue()
    assert "waiting for a worker for" in _listing()
    # The upgrade page says it too, before anything is requested.
    response = alice_client.get(reverse("admin:operations_upgrade"))
    assert f"No worker is consuming queue {nobody_listens!r}" in html.unescape(response.content.decode())
    run_requests.cancel_run(run.pk, None, label="cli:x")


def test_the_warning_is_absent_when_a_worker_consumes_the_queue(alice_client, celery_worker_process):
    response = alice_client.get(reverse("admin:operations_backup_now"))
    assert response.status_code == 200 and b'id="no-worker"' not in response.content
