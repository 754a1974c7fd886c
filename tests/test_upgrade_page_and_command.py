"""The guided upgrade page and ``manage.py migrate-store`` drive the same service and procedure."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from devtools.alchemiscale_standin import IMAGE_TAG as STANDIN_IMAGE
from operations.models import AppliedMigration, OperationRun
from operations.runs.engine import execute
from operations.targets import get_target
from tests.test_migration_alchemiscale_v03_to_v04 import NAME, make_networks, marks_per_network

URL = reverse("admin:operations_upgrade")


@pytest.mark.django_db
def test_page_shows_version_applicable_migrations_prechecks_and_commands(alice_client):
    page = alice_client.get(URL).content.decode()
    assert "Neo4j <strong>5.26.12</strong>" in page
    assert 'id="migration-neo4j-4.4-to-5"' in page and "not 4.4; this migration does not apply" in page
    schema = page[page.index('id="migration-alchemiscale-v0.3-to-v0.4"') :]
    assert "<strong>Applies</strong>" in schema
    assert "target up: ok" in schema and "not applied yet: ok" in schema and "free disk: ok" in schema
    assert "devtools.alchemiscale_standin database migrate v03-to-v04" in schema
    assert "the STAND-IN for alchemiscale" in schema
    assert 'name="confirmation"' in schema


@pytest.mark.django_db
def test_page_on_the_docker_target_shows_the_image_run_or_why_it_cannot(alice_client, docker_neo4j, settings):
    settings.OPERATIONS_TARGET = "docker"
    settings.ALCHEMISCALE_IMAGE = "portal-test/no-such-alchemiscale-server:v0.4.0"
    page = alice_client.get(URL).content.decode()
    schema = page[page.index('id="migration-alchemiscale-v0.3-to-v0.4"') :]
    assert "<strong>Does not apply</strong>" in schema
    assert "docker pull portal-test/no-such-alchemiscale-server:v0.4.0" in schema

    settings.ALCHEMISCALE_IMAGE = STANDIN_IMAGE  # the labelled stand-in (scripts/standin_image.py)
    page = alice_client.get(URL).content.decode()
    schema = page[page.index('id="migration-alchemiscale-v0.3-to-v0.4"') :]
    assert "<strong>Applies</strong>" in schema and "the STAND-IN for alchemiscale" in schema
    assert (
        f"docker run --rm --network host -e NEO4J_URL={settings.DOCKER_NEO4J_URL} -e NEO4J_USER="
        f"{settings.NEO4J_USER} -e NEO4J_PASS -e NEO4J_DBNAME={settings.NEO4J_DBNAME} {STANDIN_IMAGE} "
        f"database migrate v03-to-v04"
    ) in schema
    assert settings.NEO4J_PASS not in schema


@pytest.mark.django_db
@pytest.mark.unit
def test_staff_without_the_permission_cannot_open_it(client, bob):
    client.force_login(bob)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"action": "run", "migration": NAME, "confirmation": NAME}).status_code == 403
    assert OperationRun.objects.count() == 0


@pytest.mark.django_db
def test_page_requests_the_run_only_with_the_typed_name(alice_client, alice):
    make_networks(get_target())
    refused = alice_client.post(URL, {"action": "run", "migration": NAME, "confirmation": "yes please"})
    assert refused.status_code == 400 and "to confirm" in refused.content.decode()
    assert OperationRun.objects.count() == 0

    response = alice_client.post(URL, {"action": "run", "migration": NAME, "confirmation": NAME})
    run = OperationRun.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "admin:operations_operationrun_change", args=[run.pk]
    )
    assert (run.kind, run.status, run.requested_by) == ("alchemiscale-v03-to-v04", "pending", alice)
    run = execute(run.pk)  # what the worker does with it
    assert run.status == "succeeded", run.error
    assert set(marks_per_network(get_target()).values()) == {1}
    record = AppliedMigration.objects.get()
    assert (record.by, record.by_label, record.outcome) == (alice, "alice", "applied")
    page = alice_client.get(URL).content.decode()
    assert "Does not apply</strong>: applied" in page and "#%d</a>" % run.pk in page


@pytest.mark.django_db
def test_command_lists_runs_and_records_the_same_way(alice_client):
    make_networks(get_target())
    out = io.StringIO()
    call_command("migrate-store", "--list", stdout=out)
    assert "alchemiscale-v0.3-to-v0.4 (applies)" in out.getvalue()
    with pytest.raises(CommandError, match="to confirm"):
        call_command("migrate-store", NAME, "--confirm", "nope", "--here", stdout=io.StringIO())

    out = io.StringIO()
    call_command("migrate-store", NAME, "--confirm", NAME, "--here", stdout=out)
    assert "succeeded" in out.getvalue()
    run = OperationRun.objects.get()
    record = AppliedMigration.objects.get()
    assert record.by is None and record.by_label.startswith("cli:") and record.run == run
    assert set(marks_per_network(get_target()).values()) == {1}
    # the page shows the command's run exactly as its own
    page = alice_client.get(URL).content.decode()
    assert record.by_label in page and "Does not apply</strong>: applied" in page
    with pytest.raises(CommandError, match="already applied"):
        call_command("migrate-store", NAME, "--confirm", NAME, "--here", stdout=io.StringIO())
