"""Least privilege: a web process without access to the operations target (PORTAL_TARGET_VIA_WORKER, as the compose
deployment's portal-web, which has neither the Docker socket nor the Neo4j data directory) shows the target from its
worker's report and has the worker plan and refuse runs, with the real Celery worker and the local target.
The whole path with a backup carried out is in tests/test_deployment.py (docker-compose for real)."""

from __future__ import annotations

import os

import pytest

from operations.backups import services
from operations.models import OperationRun
from operations.runs import checks as run_checks
from operations.runs import reports as run_reports
from operations.runs.contract import OperationFailed
from operations.targets import get_target
from operations.targets import reports as target_reports
from operations.targets.reported import ReportedTarget
from tests.backup_support import catalog_row

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_web_side_reads_the_report_and_asks_the_worker(celery_worker_process, settings):
    direct_plan = services.preview_backup()
    settings.TARGET_VIA_WORKER = True
    target = get_target()
    assert isinstance(target, ReportedTarget)

    # The worker reported at its start (and every sweep): the status row says who and when.
    run_reports.record_reports_of_worker()  # (a no-op here: this process is the web side)
    report = target_reports.read_report("local")
    assert report is not None and report["ok"], report
    check = run_checks.check_target()
    assert check.ok and "reported by worker" in check.detail and "running" in check.detail, check
    backups = run_checks.check_backup_dir()
    assert backups.ok and "free in" in backups.detail and "reported by worker" in backups.detail, backups

    # The plan with its exact commands comes from the worker, the same as computed directly.
    assert services.preview_backup() == direct_plan

    # A refusal on the worker comes back as the same refusal, and nothing is recorded.
    backup = catalog_row(database=target.connection.database)
    with pytest.raises(OperationFailed, match="is missing"):
        services.preview_restore(backup)
    with pytest.raises(OperationFailed, match="is missing"):
        services.request_restore(backup, target.connection.database)
    assert not OperationRun.objects.exists()

    # No report (a worker never started): said plainly on the status page.
    target_reports.forget_report("local")
    check = run_checks.check_target()
    assert not check.ok and "no worker has reported" in check.detail

    # No worker on the queue: the call gives up after PORTAL_WORKER_CALL_SECONDS with the reason.
    settings.OPERATIONS_QUEUE = f"nobody-listens-{os.getpid()}"
    settings.WORKER_CALL_SECONDS = 1
    with pytest.raises(OperationFailed, match="no worker on queue 'nobody-listens-"):
        services.preview_backup()
