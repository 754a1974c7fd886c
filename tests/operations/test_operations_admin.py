"""The operations pages in the admin: links, previews, permissions, the run page and its JSON feed."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from operations.backups.procedures.dumps import dump_args
from operations.models import Backup, OperationRun, OperationStep, RunLogLine

from .conftest import seed_graph

pytestmark = pytest.mark.django_db


@pytest.fixture
def backup(target):
    (target.backup_dir / "neo4j-20240101-000000.dump").write_bytes(b"dump")
    return Backup.objects.create(
        file_name="neo4j-20240101-000000.dump",
        target=target.name,
        database=target.connection.database,
        size=4,
        sha256="a" * 64,
        neo4j_version=target.neo4j_version(),
        node_count=10,
        relationship_count=5,
        requested_by_label="alice",
    )


@pytest.fixture
def carol(django_user_model):
    """Staff who may view operations and restore, nothing else."""
    user = django_user_model.objects.create_user("carol", "carol@example.org", "carol-password-1", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_operationrun", "view_backup", "restore_backup"])
    )
    return user


@pytest.mark.unit
def test_front_page_links_the_operations_pages(alice_client):
    html = alice_client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:operations_operationrun_changelist") in html
    assert reverse("admin:operations_backup_changelist") in html


def test_back_up_now_previews_the_exact_commands(alice_client, target):
    html = alice_client.get(reverse("admin:operations_operationrun_changelist")).content.decode()
    assert reverse("admin:operations_backup_now") in html
    html = alice_client.get(reverse("admin:operations_backup_now")).content.decode()
    # The dump is of the snapshot, with a scratch configuration, after Neo4j is back; the outage is stated.
    assert " ".join(target.side_admin_command(target.snapshot_dir(), dump_args(target))) in html
    assert "stop Neo4j" in html and "start Neo4j" in html and "copy the store to a snapshot" in html
    # No backup yet: the expectation is a restart of this Neo4j as its own log timed the last one (neo4j.log); the
    # Docker test image's container prints no such lines, so there it says that the log does not time it.
    assert "THE OUTAGE BEGINS" in html
    if target.name == "local":
        assert "or a little more: one restart of this Neo4j as its log timed the last" in html
    else:
        assert "about one restart of Neo4j (no earlier backup to go by, and Neo4j&#x27;s log does not time" in html


def test_back_up_now_records_a_run_and_a_second_is_refused(alice_client, target):
    # No worker here, and the test transaction never commits: the run stays pending, holding the target.
    response = alice_client.post(reverse("admin:operations_backup_now"))
    run = OperationRun.objects.get()
    assert response.url == reverse("admin:operations_operationrun_change", args=[run.pk])
    assert (run.kind, run.status, run.requested_by_label) == ("backup", "pending", "alice")
    assert run.steps.count() == 12 and run.celery_task_id
    html = alice_client.post(reverse("admin:operations_backup_now"), follow=True).content.decode()
    assert f"backup #{run.pk} (pending)" in html
    assert OperationRun.objects.count() == 1


def test_staff_without_permissions_cannot_back_up_or_restore(client, bob, backup):
    client.force_login(bob)
    assert client.get(reverse("admin:operations_backup_now")).status_code == 403
    assert client.post(reverse("admin:operations_backup_now")).status_code == 403
    assert client.get(reverse("admin:operations_backup_restore", args=[backup.pk])).status_code == 403
    assert (
        client.post(reverse("admin:operations_backup_restore", args=[backup.pk]), {"confirmation": "neo4j"}).status_code
        == 403
    )
    assert OperationRun.objects.count() == 0


def test_restore_page_states_what_is_replaced_and_needs_the_typed_name(client, carol, backup, target):
    seed_graph(target, "now", n=4)
    nodes, rels = target.counts()
    client.force_login(carol)
    listing = client.get(reverse("admin:operations_backup_changelist")).content.decode()
    assert backup.file_name in listing and reverse("admin:operations_backup_restore", args=[backup.pk]) in listing
    html = client.get(reverse("admin:operations_backup_restore", args=[backup.pk])).content.decode()
    assert f"{nodes} nodes and {rels} relationships" in html
    assert "10 nodes and 5 relationships" in html
    assert "database load" in html and "safety backup: dump" in html
    wrong = client.post(reverse("admin:operations_backup_restore", args=[backup.pk]), {"confirmation": "nope"})
    assert wrong.status_code == 400 and "type the database name" in wrong.content.decode()
    assert OperationRun.objects.count() == 0
    right = client.post(
        reverse("admin:operations_backup_restore", args=[backup.pk]), {"confirmation": target.connection.database}
    )
    run = OperationRun.objects.get()
    assert right.url == reverse("admin:operations_operationrun_change", args=[run.pk])
    assert (run.kind, run.params, run.requested_by_label) == ("restore", {"backup_id": backup.pk}, "carol")


def test_restore_action_goes_to_the_confirmation_page(client, carol, backup):
    client.force_login(carol)
    response = client.post(
        reverse("admin:operations_backup_changelist"), {"action": "restore_selected", "_selected_action": [backup.pk]}
    )
    assert response.url == reverse("admin:operations_backup_restore", args=[backup.pk])


def test_the_backup_page_shows_the_portal_database_copy(alice_client, backup):
    page = alice_client.get(reverse("admin:operations_backup_change", args=[backup.pk])).content.decode()
    assert "Portal database copy" in page and "none (see the run&#x27;s log)" in page
    Backup.objects.filter(pk=backup.pk).update(
        portal_db_file="neo4j-20240101-000000.portal.sqlite3", portal_db_size=3 << 20, portal_db_sha256="b" * 64
    )
    page = alice_client.get(reverse("admin:operations_backup_change", args=[backup.pk])).content.decode()
    assert "neo4j-20240101-000000.portal.sqlite3 (3.0 MiB; SHA-256 <code>" + "b" * 64 in page


def test_the_backup_page_says_each_fact_once_in_words(alice_client, backup):
    """No field names for labels ("Sha256", "Requested by label"), no fact twice, sizes and times for people."""
    page = alice_client.get(reverse("admin:operations_backup_change", args=[backup.pk])).content.decode()
    labels = re.findall(r"<label[^>]*>([^<]*):</label>", page)
    assert labels == [
        "File", "Made", "Size", "SHA-256", "Contents", "Neo4j version", "Database", "Purpose", "Procedure",
        "Requested by", "Made by", "Verification", "What it found", "Last restore drill", "Off-site copies",
        "Portal database copy",
    ]  # fmt: skip
    assert page.count("a" * 64) == 1 and "Missing since" not in page
    assert "4 B (4 bytes)" in page and "10 nodes, 5 relationships" in page and re.search(r" UTC \(\d+ s ago\)", page)
    Backup.objects.filter(pk=backup.pk).update(missing_since=timezone.now())
    page = alice_client.get(reverse("admin:operations_backup_change", args=[backup.pk])).content.decode()
    assert "<label>Missing since:</label>" in page


@pytest.mark.unit
def test_run_page_and_progress_feed(alice_client):
    started = timezone.now()
    run = OperationRun.objects.create(
        kind="backup",
        target="local",
        requested_by_label="alice",
        status="running",
        started_at=started,
    )
    RunLogLine.objects.create(run=run, at=started, level="info", step="dump", message="dumping now")
    for position, (name, status) in enumerate([("one", "ok"), ("dump", "running"), ("three", "pending")], 1):
        OperationStep.objects.create(run=run, position=position, name=name, status=status, output=f"out of {name}")
    html = alice_client.get(reverse("admin:operations_operationrun_change", args=[run.pk])).content.decode()
    assert 'step <span id="step-k">2</span> of <span id="step-n">3</span>' in html
    assert "dumping now" in html and "out of dump" in html and "progress.json" in html
    data = alice_client.get(reverse("admin:operations_operationrun_progress", args=[run.pk])).json()
    assert (data["status"], data["step"], data["steps_total"], data["terminal"]) == ("running", 2, 3, False)
    assert data["elapsed_seconds"] >= 0 and data["log"][0]["message"] == "dumping now"
    assert [s["status"] for s in data["steps"]] == ["ok", "running", "pending"]
    listing = alice_client.get(reverse("admin:operations_operationrun_changelist")).content.decode()
    assert "step 2 of 3" in listing
