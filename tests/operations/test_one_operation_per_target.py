"""While a backup runs, a second request is refused (service, admin, command line), naming the running one."""

import html

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from operations.backups import services
from operations.models import Backup, OperationRun
from operations.runs import contract
from operations.runs import requests as run_requests

from .conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_second_backup_is_refused_while_one_runs(target, alice_client, celery_worker_process):
    first = services.request_backup(label="first")
    wait_for(first, until="step:dump the snapshot")
    first.refresh_from_db()
    assert first.status == "running"

    with pytest.raises(contract.OperationBusy) as refused:
        services.request_backup(label="second")
    assert f"backup #{first.pk} (running)" in str(refused.value) and "requested by first" in str(refused.value)
    assert refused.value.running == first

    response = alice_client.post(reverse("admin:operations_backup_now"), follow=True)
    assert (
        f"Backup refused: another operation is already active on target {target.name!r}: backup #{first.pk}"
        in html.unescape(response.content.decode())
    )

    with pytest.raises(CommandError, match=f"backup #{first.pk}"):
        call_command("backup")
    # Nor can the running one be cancelled: it runs to its end.
    with pytest.raises(CommandError, match="cannot be cancelled mid-step"):
        call_command("operations", "cancel", str(first.pk))

    assert OperationRun.objects.count() == 1
    first = wait_for(first)
    assert first.status == "succeeded", first.error
    assert Backup.objects.count() == 1
    # The target is free again.
    assert run_requests.active_run(target.name) is None
