"""/metrics: off unless configured, guarded by token and address list, and scraped with Prometheus' own parser."""

import datetime as dt
import ipaddress

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from identities import services
from identities.audit import Actor
from identities.nodes import KINDS

from .glance_support import ended_run, finished_backup

pytestmark = pytest.mark.django_db
TOKEN = "a-metrics-token-long-enough"


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


@pytest.mark.unit
def test_metrics_are_off_unless_configured(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED = "", []
    assert client.get("/metrics").status_code == 404


def test_token_and_address_list_guard_the_metrics(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED = TOKEN, []
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}x").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    settings.METRICS_ALLOWED = [ipaddress.ip_network("10.1.2.0/24")]
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 403  # test client: 127.0.0.1
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED = "", [ipaddress.ip_network("127.0.0.0/8")]
    assert client.get("/metrics").status_code == 200


def test_scraped_figures_match_the_store_and_the_catalog(client, settings, celery_worker_process):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED = TOKEN, []
    now = timezone.now()
    finished_backup(now - dt.timedelta(hours=30), size=1000, seconds=20, outage=8, n=1)
    finished_backup(now - dt.timedelta(hours=2), size=3000, seconds=40, outage=12, n=2)
    ended_run("restore", "failed", now - dt.timedelta(hours=1), seconds=7)
    actor, user, compute = Actor.command_line(), KINDS["user"], KINDS["compute"]
    services.add_identity(user, "ann", "k", actor)
    services.add_identity(user, "ben", "k", actor, expires=now - dt.timedelta(days=1))
    services.add_identity(user, "cat", "k", actor, expires=now + dt.timedelta(days=3))
    services.add_identity(compute, "w", "k", actor)
    services.disable_identity(compute, "w", actor)

    m = scrape(client)
    age = m[("alchemiscale_portal_newest_backup_age_seconds", ())]
    assert 2 * 3600 - 60 < age < 2 * 3600 + 60
    assert m[("alchemiscale_portal_backups", (("purpose", "requested"),))] == 2
    assert m[("alchemiscale_portal_backups", (("purpose", "safety"),))] == 0
    assert m[("alchemiscale_portal_backups_bytes", (("purpose", "requested"),))] == 4000
    assert m[("alchemiscale_portal_operation_runs", (("kind", "backup"), ("status", "succeeded")))] == 2
    assert m[("alchemiscale_portal_operation_runs", (("kind", "restore"), ("status", "failed")))] == 1
    assert m[("alchemiscale_portal_last_run_duration_seconds", (("kind", "backup"), ("status", "succeeded")))] == 40
    assert m[("alchemiscale_portal_last_run_duration_seconds", (("kind", "restore"), ("status", "failed")))] == 7
    identities = {labels: v for (name, labels), v in m.items() if name == "alchemiscale_portal_identities"}
    assert identities == {
        (("status", "active"), ("type", "user")): 2,
        (("status", "expired"), ("type", "user")): 1,
        (("status", "disabled"), ("type", "user")): 0,
        (("status", "active"), ("type", "compute")): 0,
        (("status", "expired"), ("type", "compute")): 0,
        (("status", "disabled"), ("type", "compute")): 1,
    }
    assert m[("alchemiscale_portal_identities_expiring_30d", (("type", "user"),))] == 1
    assert m[("alchemiscale_portal_neo4j_up", ())] == 1
    assert m[("alchemiscale_portal_broker_up", ())] == 1
    assert m[("alchemiscale_portal_workers_alive", ())] >= 1  # the test's real Celery worker answers


def test_no_backup_means_no_age_sample(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED = TOKEN, []
    names = {name for name, _ in scrape(client)}
    assert "alchemiscale_portal_newest_backup_age_seconds" not in names
    assert "alchemiscale_portal_backups" in names


def test_beat_liveness_follows_its_heartbeat_in_redis(client, settings):
    from operations.unattended import beat

    settings.METRICS_TOKEN, settings.METRICS_ALLOWED = TOKEN, []
    beat._redis().delete(beat.HEARTBEAT_KEY)  # no beat runs during this test
    m = scrape(client)
    assert m[("alchemiscale_portal_beat_up", ())] == 0
    assert ("alchemiscale_portal_beat_heartbeat_age_seconds", ()) not in m
    beat.write_heartbeat()  # what a running beat writes every few seconds
    m = scrape(client)
    assert m[("alchemiscale_portal_beat_up", ())] == 1
    assert 0 <= m[("alchemiscale_portal_beat_heartbeat_age_seconds", ())] < 30
    beat._redis().delete(beat.HEARTBEAT_KEY)
