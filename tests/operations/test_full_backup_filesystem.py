"""The backups directory on a real, small filesystem (a tmpfs; the tests run as root) (docs/reliability.md,
faults 5 and 6), one scenario on the local target:

1. free space below the expected dump size: refused before anything is stopped (Neo4j keeps its process);
2. the same with the explicit override: the dump runs out of room for real, the partial dump is removed (the
   filesystem is empty again), Neo4j is started again and the data is intact.
"""

import shutil
import subprocess

import pytest

from operations.backups import services
from operations.backups.procedures.dumps import in_progress_dir
from operations.models import Backup
from operations.runs import engine

from .conftest import graph_snapshot

pytestmark = pytest.mark.django_db
TMPFS_SIZE = 256 * 1024


@pytest.fixture
def small_filesystem(tmp_path):
    mount = tmp_path / "backups"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0777", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def _execute(**params):
    """Request a backup and run it here, in this process (the same code a worker runs; no worker takes it: the
    request's transaction never commits, so it is never sent)."""
    run = services.request_backup(label="test", **params)
    return engine.execute(run.pk)


@pytest.mark.parametrize("target", ["local"], indirect=True)
def test_full_backup_filesystem(target, settings, small_filesystem):
    settings.BACKUP_DIR = small_filesystem
    target.query(
        "UNWIND range(1, 3000) AS i CREATE (:Blob {i: i, data: reduce(s = '', x IN range(1, 16) | s + randomUUID())})"
    )
    before = graph_snapshot(target)
    pid = target.pid()

    refused = _execute()
    assert refused.status == "failed"
    assert "free" in refused.error and "nothing was stopped" in refused.error
    assert "--ignore-free-space" in refused.error
    assert target.pid() == pid  # never stopped

    failed = _execute(ignore_free_space=True)
    assert failed.status == "failed", failed.error
    assert "the dump failed" in failed.error
    work = small_filesystem / in_progress_dir(target).name
    assert not work.exists(), [p.name for p in work.iterdir()]
    assert shutil.disk_usage(small_filesystem).used < 64 * 1024  # the room is back
    assert any("removed the partial dump" in entry["message"] for entry in failed.log), failed.log
    assert target.is_up() and graph_snapshot(target) == before
    assert Backup.objects.count() == 0
