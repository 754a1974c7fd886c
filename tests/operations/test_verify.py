"""Verifying a backup: a real dump loaded into a real scratch Neo4j, checked and counted, the live one untouched;
a dump changed in the middle, a truncated one and one whose counts differ are each failed with the reason.

The local target only: the scratch Neo4j is the local target's (docs/verification.md says what Docker does). The
runs are carried out in this process (as ``--here`` does), which keeps the test to one backup and two scratch
servers.
"""

import io
import os
import shutil

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from operations.backups import services
from operations.backups.procedures.dumps import sha256_of
from operations.models import Backup, OperationRun
from operations.runs import engine
from operations.runs import requests as run_requests

from .conftest import seed_graph

pytestmark = pytest.mark.django_db(transaction=True)


def _verify(backup: Backup):
    run = services.request_verify(backup, None, label="test", send=False)
    run = engine.execute(run.pk)
    backup.refresh_from_db()
    return run, backup


def _copy(target, backup: Backup, name: str, **catalog) -> Backup:
    """Another catalog row for a copy of ``backup``'s dump named ``name`` (fields of the catalog overridden)."""
    shutil.copyfile(target.backup_dir / backup.file_name, target.backup_dir / name)
    fields = {
        f.name: getattr(backup, f.name)
        for f in Backup._meta.concrete_fields
        if f.name not in ("id", "file_name", "made_by_run", "requested_by", "verified_by_run")
    }
    return Backup.objects.create(**{**fields, "file_name": name, **catalog})


@pytest.mark.parametrize("target", ["local"], indirect=True)
def test_verification_proves_a_good_dump_and_fails_damaged_ones_with_the_reason(target):
    seed_graph(target, "verify", n=10)
    made = engine.execute(services.request_backup(None, label="test", send=False, target=target).pk)
    assert made.status == "succeeded", made.error
    good = Backup.objects.get()
    live_pid = target.pid()

    run, good = _verify(good)
    assert run.status == "succeeded", run.error
    assert [s.status for s in run.steps.order_by("position")] == ["ok"] * 8
    assert good.verification == "ok" and good.verified_by_run == run and good.verified_at is not None
    assert (
        f"{good.node_count} nodes and {good.relationship_count} relationships, as in the catalog"
        in good.verification_detail
    )
    # The live Neo4j was neither stopped nor replaced; the scratch is gone.
    assert target.pid() == live_pid and target.is_up()
    assert not target.scratch_dir().exists()

    # Bytes changed in the middle, and a truncated copy, in one run (as the admin action on many asks): the
    # catalog's SHA-256 and size catch each before anything is loaded, and the run names both.
    changed = _copy(target, good, "neo4j-20000101-000001.dump")
    path = target.backup_dir / changed.file_name
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = bytes(b ^ 0xFF for b in data[middle : middle + 16])
    path.write_bytes(bytes(data))
    short = _copy(target, good, "neo4j-20000101-000002.dump")
    with open(target.backup_dir / short.file_name, "r+b") as fh:
        fh.truncate(good.size // 2)
    run = engine.execute(services.request_verify([changed, short], None, label="test", send=False).pk)
    changed.refresh_from_db()
    short.refresh_from_db()
    assert run.status == "failed" and changed.verification == short.verification == "failed"
    assert f"its SHA-256 is {sha256_of(path)}, the catalog says {good.sha256}" in changed.verification_detail
    assert f"has {good.size // 2} bytes, the catalog says {good.size}" in short.verification_detail
    assert changed.file_name in run.error and short.file_name in run.error
    assert not target.scratch_dir().exists()

    # Truncated and catalogued as it is (damaged before it was checksummed): the scratch load refuses it.
    path = target.backup_dir / short.file_name
    short.size, short.sha256 = path.stat().st_size, sha256_of(path)
    short.save()
    run, short = _verify(short)
    assert run.status == "failed" and short.verification == "failed", run.error
    assert f"{short.file_name} does not load: neo4j-admin exited with" in short.verification_detail
    assert [s.status for s in run.steps.order_by("position")] == [
        "ok",
        "failed",
        "ok",
        "ok",
        "ok",
        "ok",
        "failed",
        "ok",
    ]
    assert run.steps.get(position=3).output.startswith("not run: an earlier check of this backup failed")
    assert not target.scratch_dir().exists()

    # Intact, but the catalog counts one node more than the dump holds.
    off = _copy(target, good, "neo4j-20000101-000003.dump", node_count=good.node_count + 1)
    run, off = _verify(off)
    assert run.status == "failed" and off.verification == "failed"
    assert (
        f"the loaded dump has {good.node_count} nodes and {good.relationship_count} relationships; the catalog "
        f"says {good.node_count + 1} and {good.relationship_count}"
    ) in off.verification_detail
    assert target.pid() == live_pid and not target.scratch_dir().exists()


def _missing(name: str) -> Backup:
    """A catalog row whose dump is not there: verification fails at once, before any Neo4j is started."""
    return Backup.objects.create(
        file_name=name,
        target="local",
        database="neo4j",
        size=1,
        sha256="0" * 64,
        neo4j_version="5.26.12",
        requested_by_label="test",
    )


def test_verify_backup_command_names_the_failure_and_the_list_filters_on_it(alice_client, settings):
    settings.OPERATIONS_TARGET = "local"
    gone = _missing("neo4j-20000101-000010.dump")
    out = io.StringIO()
    with pytest.raises(
        CommandError, match="verify #.* failed: sum up: neo4j-20000101-000010.dump: the dump .* is missing"
    ):
        call_command("verify-backup", gone.file_name, "--here", stdout=out)
    assert "neo4j-20000101-000010.dump: verification failed: the dump" in out.getvalue()
    gone.refresh_from_db()
    assert gone.verification == "failed" and gone.verified_by_run.kind == "verify"
    with pytest.raises(CommandError, match="name backups"):
        call_command("verify-backup", stdout=out)

    listing = alice_client.get(reverse("admin:operations_backup_changelist"), {"verification__exact": "failed"})
    assert listing.status_code == 200 and b"neo4j-20000101-000010.dump" in listing.content
    assert b"verification-failed" in listing.content
    assert (
        b"neo4j-20000101-000010.dump"
        not in alice_client.get(reverse("admin:operations_backup_changelist"), {"verification__exact": "ok"}).content
    )
    page = alice_client.get(reverse("admin:operations_backup_change", args=[gone.pk]))
    assert b'id="verify-backup"' in page.content


def test_the_verify_button_and_action_request_one_run(alice_client, bob, client, settings):
    settings.OPERATIONS_TARGET = "local"
    # No worker takes these runs (a worker left from an earlier test would end the first at once).
    settings.OPERATIONS_QUEUE = f"nobody-listens-{os.getpid()}"
    a, b = _missing("neo4j-20000101-000011.dump"), _missing("neo4j-20000101-000012.dump")
    response = alice_client.post(reverse("admin:operations_backup_verify", args=[a.pk]))
    run = OperationRun.objects.get(kind="verify")
    assert response.status_code == 302 and response.url == reverse(
        "admin:operations_operationrun_change", args=[run.pk]
    )
    assert run.params == {"backup_ids": [a.pk]} and run.requested_by_label == "alice"
    # One active run per target: a second request is refused while the first waits.
    response = alice_client.post(
        reverse("admin:operations_backup_changelist"),
        {"action": "verify_selected", "_selected_action": [a.pk, b.pk]},
        follow=True,
    )
    assert b"Verification refused: another operation is already active" in response.content
    run_requests.cancel(run.pk, "test")
    alice_client.post(
        reverse("admin:operations_backup_changelist"), {"action": "verify_selected", "_selected_action": [a.pk, b.pk]}
    )
    second = OperationRun.objects.filter(kind="verify").exclude(pk=run.pk).get()
    assert second.params == {"backup_ids": [a.pk, b.pk]}
    assert [s.name for s in second.steps.order_by("position")][:2] == [
        f"{a.file_name}: re-hash the dump",
        f"{a.file_name}: load into a scratch store",
    ]
    run_requests.cancel(second.pk, "test")
    client.force_login(bob)  # staff without the right to request backups
    assert client.post(reverse("admin:operations_backup_verify", args=[a.pk])).status_code == 403


def test_a_due_drill_verifies_the_newest_backup_and_its_failure_alerts_and_shows_red(alice_client, settings):
    import datetime as dt

    from django_celery_beat.models import PeriodicTask

    from operations.models import Alert
    from operations.unattended import alerts, drills

    settings.OPERATIONS_TARGET, settings.RESTORE_DRILL_DAYS = "local", 7
    settings.ALERT_EMAILS, settings.ALERT_WEBHOOK_URL = [], ""
    # The test carries the drills out itself: no worker may take them (the session's would start the second drill
    # before the test cancels it).
    settings.OPERATIONS_QUEUE = f"nobody-listens-{os.getpid()}"
    assert PeriodicTask.objects.get(task="operations.restore_drill").interval.every == 60
    assert drills.drill_if_due() == "no backup to drill on"
    older = _missing("neo4j-20000101-000020.dump")
    newest = _missing("neo4j-20000102-000020.dump")
    Backup.objects.filter(pk=older.pk).update(created_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))

    assert drills.drill_if_due().startswith("requested drill #")
    drill = OperationRun.objects.get(kind="verify")
    assert drill.params == {"backup_ids": [newest.pk]} and drill.requested_by_label == "drill"
    assert drills.drill_if_due().startswith("not due: the last drill was")  # within the interval, even pending
    engine.execute(drill.pk)
    assert drills.drill_status()[0] is False and "the last drill FAILED" in drills.drill_status()[1]

    alerts.sweep()
    assert Alert.objects.filter(key="run:local:verify", resolved_at__isnull=True).exists()
    page = alice_client.get(reverse("system-status"))
    assert page.status_code == 200
    assert b'class="schedule-check red" data-component="Restore drill"' in page.content
    backup_page = alice_client.get(reverse("admin:operations_backup_change", args=[newest.pk]))
    assert f"run #{drill.pk}</a> failed".encode() in backup_page.content
    out = io.StringIO()
    call_command("operations", "--backups", stdout=out)
    assert "verification: verification failed at " in out.getvalue() and " by drill: the dump " in out.getvalue()
    assert "restore drill: the last drill FAILED" in out.getvalue()

    # Past the interval the next look asks again; 0 turns drills off.
    OperationRun.objects.filter(pk=drill.pk).update(requested_at=drill.requested_at - dt.timedelta(days=8))
    assert drills.drill_if_due().startswith("requested drill #")
    settings.RESTORE_DRILL_DAYS = 0
    assert drills.drill_if_due() == "restore drills are off (PORTAL_RESTORE_DRILL_DAYS=0)"
    for run in OperationRun.objects.filter(status="pending"):
        run_requests.cancel(run.pk, "test")


@pytest.mark.parametrize("target", ["docker"], indirect=True)
def test_docker_verifies_in_containers_without_network(target):
    """One run of three copies of a real dump on the Docker target: the intact one passes (loaded, checked and
    counted in no-network one-off containers), a truncated one catalogued as it is does not load, and one whose
    catalog counts differ fails on the counts."""
    seed_graph(target, "verify-docker", n=5)
    made = engine.execute(services.request_backup(None, label="test", send=False, target=target).pk)
    assert made.status == "succeeded", made.error
    good = Backup.objects.get()
    short = _copy(target, good, "neo4j-20000101-000031.dump")
    path = target.backup_dir / short.file_name
    with open(path, "r+b") as fh:
        fh.truncate(good.size // 2)
    Backup.objects.filter(pk=short.pk).update(size=path.stat().st_size, sha256=sha256_of(path))
    off = _copy(target, good, "neo4j-20000101-000032.dump", relationship_count=good.relationship_count + 2)
    started_at = target.container().attrs["State"]["StartedAt"]

    run = engine.execute(services.request_verify([good, short, off], None, label="test", send=False).pk)
    for b in (good, short, off):
        b.refresh_from_db()
    assert run.status == "failed"
    assert good.verification == "ok", good.verification_detail
    assert (
        f"{good.node_count} nodes and {good.relationship_count} relationships, as in the catalog"
        in good.verification_detail
    )
    assert short.verification == "failed" and f"{short.file_name} does not load" in short.verification_detail
    assert (
        off.verification == "failed"
        and (f"relationships; the catalog says {good.node_count} and {good.relationship_count + 2}")
        in off.verification_detail
    )
    assert target.container().attrs["State"]["StartedAt"] == started_at and target.is_up()
    assert not target.scratch_dir().exists()
