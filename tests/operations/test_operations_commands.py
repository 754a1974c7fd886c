"""manage.py backup, restore and operations do the same as the admin, through the same service functions."""

import io
import os

import pytest
from django.core.management import CommandError, call_command

from operations.models import Backup, OperationRun

from .conftest import seed_graph

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _call(*args, **kwargs) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, **kwargs)
    return out.getvalue()


def test_backup_operations_and_restore_commands(target, celery_worker_process, settings):
    seed_graph(target, "cli")
    # No room for a snapshot on the data directory's file system (it would keep less than this free): the backup
    # falls back to dumping the stopped store, decided when it is requested (this process), and the plan says so.
    settings.SNAPSHOT_KEEP_FREE_MB = 1 << 40

    assert "NO ROOM FOR A SNAPSHOT" in _call("backup", "--dry-run")
    out = _call("backup")
    backup = Backup.objects.get()
    run = OperationRun.objects.get()
    assert f"backup #{run.pk} requested" in out and "step 4: dump - ok" in out and "succeeded" in out
    assert run.params["snapshot"] is False and "NO ROOM FOR A SNAPSHOT" in run.steps.get(name="stop Neo4j").description
    assert backup.file_name in out and backup.sha256 in out
    assert backup.portal_db_file in out and backup.portal_db_sha256 in out
    assert run.requested_by is None and run.requested_by_label.startswith("cli:")

    listing = _call("operations")
    assert f"#{run.pk} backup on {target.name}: succeeded, step 9 of 9" in listing
    catalog = _call("operations", "--backups")
    assert backup.file_name in catalog
    assert f"portal database copy: {backup.portal_db_file} {backup.portal_db_size} bytes" in catalog
    shown = _call("operations", "--show", str(run.pk))
    assert "4. dump: ok" in shown and "backup succeeded" in shown

    seed_graph(target, "later", n=3)
    with pytest.raises(CommandError, match="type the database name"):
        _call("restore", backup.file_name, confirm="wrong")
    with pytest.raises(CommandError, match="no backup 'neo4j-missing.dump' in the catalog"):
        _call("restore", "neo4j-missing.dump", confirm=target.connection.database)
    assert OperationRun.objects.count() == 1

    # The restore itself runs as in the admin (tested there); here: the command shows the plan and requests it.
    settings.OPERATIONS_QUEUE = f"nobody-listens-{os.getpid()}"
    out = _call("restore", backup.file_name, "--no-wait", confirm=target.connection.database)
    restore = OperationRun.objects.get(kind="restore")
    assert "database load" in out and "safety backup: dump" in out and f"restore #{restore.pk} requested" in out
    nodes, rels = target.counts()
    assert f"({nodes} nodes and {rels} relationships)" in out
    assert (restore.status, restore.params) == ("pending", {"backup_id": backup.pk})
    assert restore.requested_by_label.startswith("cli:")
