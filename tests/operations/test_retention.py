"""Retention: over a catalog of real dump files with ages set on the rows, a prune (a run with named steps) removes
exactly what the policy lets go, file, portal database copy and row together; it never removes the newest good
backup, one a run uses, or a young safety backup. `prune-backups --dry-run` only tells."""

from __future__ import annotations

import datetime as dt
import io
import os

import pytest
from django.core.management import call_command
from django.utils import timezone

from operations.backups import retention
from operations.models import Backup, BackupSchedule, OperationRun, RetentionPolicy
from operations.runs import requests as run_requests
from operations.targets import get_target
from operations.unattended import schedules

pytestmark = [pytest.mark.django_db(transaction=True)]

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def catalog(settings, tmp_path):
    """Dumps every day for 70 days (one on some days twice), real files in the local target's backups directory."""
    settings.OPERATIONS_TARGET = "local"
    settings.BACKUP_DIR = tmp_path
    target = get_target("local")
    assert target.backup_dir == tmp_path

    def add(at: dt.datetime, purpose: str = "requested", with_copy: bool = False, write: bool = True) -> Backup:
        name = f"neo4j-{at:%Y%m%d-%H%M%S}.dump"
        if write:
            (tmp_path / name).write_bytes(b"dump " + name.encode())
        copy = ""
        if with_copy:
            copy = f"portal-{at:%Y%m%d-%H%M%S}.sqlite3"
            (tmp_path / copy).write_bytes(b"portal db")
        return Backup.objects.create(
            file_name=name,
            target="local",
            database="neo4j",
            size=10,
            sha256="0" * 64,
            neo4j_version="5.26",
            purpose=purpose,
            requested_by_label="test",
            created_at=at,
            portal_db_file=copy,
        )

    rows = {}
    for days in range(70):
        rows[days] = add(NOW - dt.timedelta(days=days, hours=1), with_copy=days % 10 == 5)
    rows["same-day-older"] = add(NOW - dt.timedelta(hours=5))
    rows["young-safety"] = add(NOW - dt.timedelta(days=40, hours=3), purpose="safety")
    rows["old-safety"] = add(NOW - dt.timedelta(days=41, hours=3), purpose="safety")
    policy = RetentionPolicy.current()
    policy.keep_last, policy.keep_daily, policy.keep_weekly, policy.keep_monthly = 2, 5, 3, 3
    policy.safety_min_age_hours = 24 * 41
    policy.save()
    return tmp_path, rows, add


def kept(verdicts) -> dict[int, list[str]]:
    return {v.backup.pk: v.reasons for v in verdicts if v.keep}


def test_decide_keeps_last_n_and_gfs_generations_with_reasons(catalog):
    _, rows, _ = catalog
    verdicts = retention.decide(Backup.objects.all(), RetentionPolicy.current(), NOW)
    keep = kept(verdicts)
    # last 2; daily: the newest of the 5 newest days; weekly and monthly: the newest of the 3 newest weeks/months.
    expected = {rows[0].pk, rows["same-day-older"].pk, rows[1].pk, rows[2].pk, rows[3].pk, rows[4].pk}
    week_starts = {}
    month_starts = {}
    for days in range(70):
        at = rows[days].created_at
        week_starts.setdefault(at.isocalendar()[:2], rows[days].pk)
        month_starts.setdefault((at.year, at.month), rows[days].pk)
    expected |= set(list(week_starts.values())[:3]) | set(list(month_starts.values())[:3])
    expected |= {rows["young-safety"].pk}
    assert set(keep) == expected
    assert keep[rows[0].pk][:2] == ["the newest good backup", "one of the last 2"]
    assert any(r.startswith("a safety backup younger than") for r in keep[rows["young-safety"].pk])
    gone = [v for v in verdicts if not v.keep]
    assert rows["old-safety"].pk in {v.backup.pk for v in gone}
    assert gone[0].reasons == ["not among the last 2 nor the newest of a kept day, week or month"]


def test_never_the_newest_good_backup_nor_one_a_run_uses(catalog):
    _, rows, add = catalog
    policy = RetentionPolicy(keep_last=0, keep_daily=0, keep_weekly=0, keep_monthly=0, safety_min_age_hours=0)
    missing = add(NOW - dt.timedelta(minutes=10), write=False)  # newest row, but its file is gone
    verdicts = retention.decide(
        Backup.objects.all(), policy, NOW, in_use={rows[30].pk: 77}, file_exists=lambda b: b.pk != missing.pk
    )
    keep = kept(verdicts)
    assert set(keep) == {missing.pk, rows[0].pk, rows[30].pk}
    assert keep[rows[0].pk] == ["the newest good backup"]
    assert keep[rows[30].pk] == ["used by run #77"]
    assert keep[missing.pk] == ["its file is missing: left for staff to look at"]


def test_prune_run_removes_files_copies_and_rows_together(catalog, monkeypatch):
    directory, rows, _ = catalog
    monkeypatch.setattr(retention.timezone, "now", lambda: NOW)
    before = {p.name for p in directory.iterdir()}
    expected_keep = set(kept(retention.decide(Backup.objects.all(), RetentionPolicy.current(), NOW)))

    out = io.StringIO()
    call_command("prune-backups", "--dry-run", stdout=out)
    assert (
        f"{len(rows) - len(expected_keep)} of {len(rows)} backup(s) and 0 of 0 off-site copies would go; nothing was "
        "removed"
    ) in out.getvalue()
    assert {p.name for p in directory.iterdir()} == before and Backup.objects.count() == len(rows)
    assert not OperationRun.objects.exists()

    out = io.StringIO()
    call_command("prune-backups", "--here", stdout=out)
    run = OperationRun.objects.get(kind="prune")
    assert run.status == "succeeded", run.error
    assert [s.name for s in run.steps.all()] == [
        "decide what goes",
        "remove files and catalog rows",
        "off-site: decide which copies go",
        "off-site: remove copies",
    ]
    assert set(Backup.objects.values_list("pk", flat=True)) == expected_keep
    remaining = {p.name for p in directory.iterdir()}
    for backup in rows.values():
        present = backup.pk in expected_keep
        assert (backup.file_name in remaining) == present
        if backup.portal_db_file:
            assert (backup.portal_db_file in remaining) == present
    preview = run.steps.get(position=1).output
    assert f"REMOVE #{rows['old-safety'].pk}" in preview and f"keep   #{rows[0].pk}" in preview
    assert f"removed #{rows[69].pk} {rows[69].file_name}" in out.getvalue()
    assert run.state["plan"] and len(run.state["plan"]) == len(rows)

    # A second prune finds nothing more to remove.
    call_command("prune-backups", "--here", stdout=io.StringIO())
    assert set(Backup.objects.values_list("pk", flat=True)) == expected_keep


def test_a_file_that_cannot_be_removed_keeps_its_row(catalog, monkeypatch):
    directory, rows, _ = catalog
    monkeypatch.setattr(retention.timezone, "now", lambda: NOW)
    victim = rows[65]
    path = directory / victim.portal_db_file
    path.unlink()
    path.mkdir()  # unlink() of a directory fails
    (path / "x").write_bytes(b"")
    call_command("prune-backups", "--dry-run", stdout=io.StringIO())
    with pytest.raises(Exception):
        call_command("prune-backups", "--here", stdout=io.StringIO())
    run = OperationRun.objects.get(kind="prune")
    assert run.status == "failed" and f"could not remove {victim.file_name}" in run.error
    assert Backup.objects.filter(pk=victim.pk).exists() and (directory / victim.file_name).is_file()


def test_a_schedule_prunes_after_each_successful_backup(catalog, settings):
    settings.OPERATIONS_QUEUE = f"nobody-listens-{os.getpid()}"
    backup_run = OperationRun.objects.create(
        kind="backup",
        target="local",
        status="succeeded",
        requested_by_label="schedule:nightly",
        finished_at=timezone.now(),
    )
    schedule = BackupSchedule.objects.create(
        name="nightly", timing="interval", every=1, period="days", prune_after=True
    )
    BackupSchedule.objects.filter(pk=schedule.pk).update(last_run=backup_run)
    [prune] = schedules.prune_after_backups()
    assert prune.kind == "prune" and prune.requested_by_label == f"schedule:nightly (after backup #{backup_run.pk})"
    assert schedules.prune_after_backups() == []  # one backup, one prune
    run_requests.cancel(prune.pk, "test")


def test_operator_sees_the_preview_and_prunes_from_the_admin(catalog, client, django_user_model, settings):
    from django.contrib.auth.models import Group
    from django.urls import reverse

    from security import roles

    settings.OPERATIONS_QUEUE = f"nobody-listens-{os.getpid()}"
    _, rows, _ = catalog
    user = django_user_model.objects.create_user("olga", "olga@example.org", "olga-password-1", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.OPERATOR))
    client.force_login(user)
    page = client.get(reverse("admin:operations_retentionpolicy_changelist"), follow=True).content.decode()
    assert 'id="prune-preview"' in page and "REMOVE" in page and rows[69].file_name in page
    assert 'id="prune-now"' in page
    response = client.post(reverse("admin:operations_retentionpolicy_prune"))
    run = OperationRun.objects.get(kind="prune")
    assert response.status_code == 302 and response.url.endswith(f"/operationrun/{run.pk}/change/")
    assert run.requested_by_label == "olga"
    run_requests.cancel(run.pk, "test")
