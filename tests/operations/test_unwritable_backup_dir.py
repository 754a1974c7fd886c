"""An unwritable backups directory: a clear message, Neo4j never stopped, nothing lost.

The directory is made unwritable in a way that binds root too (the tests run as root): its parent is a regular
file, so nobody can create it or anything in it (ENOTDIR).
"""

import os

import pytest

from operations.backups import services
from operations.models import Backup

from .conftest import dedicated_worker, graph_snapshot, seed_graph, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_unwritable_backup_dir_fails_clearly_and_changes_nothing(target, settings, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a regular file where a directory would have to be\n")
    backups = blocker / "backups"
    settings.BACKUP_DIR = backups
    queue = f"ops-unwritable-{os.getpid()}"
    settings.OPERATIONS_QUEUE = queue
    seed_graph(target, "intact")
    before = graph_snapshot(target)
    pid = target.pid() if hasattr(target, "pid") else None

    with dedicated_worker("unwritable", queue, env={"PORTAL_BACKUP_DIR": str(backups)}):
        run = wait_for(services.request_backup(label="test"))

    assert run.status == "failed"
    assert f"the backups directory {backups} cannot be written" in run.error
    assert "a part of its path is a file, not a directory" in run.error
    assert "nothing was stopped or changed" in run.error
    assert [s.status for s in run.steps.order_by("position")][:3] == ["failed", "skipped", "skipped"]
    assert target.is_up() and graph_snapshot(target) == before
    if pid is not None:
        assert target.pid() == pid  # never restarted
    assert blocker.read_text().startswith("a regular file") and not backups.exists()
    assert Backup.objects.count() == 0
