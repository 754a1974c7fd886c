"""What reads the whole fleet, on a fleet written as alchemiscale writes it: networks, throughput, the counts kept
for a few minutes and shown "as of", the history, /metrics, the alerts and the front page's tile."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from compute import history, queries
from compute.actions import expire_stale
from compute.models import FleetSample
from operations.models import Alert
from operations.unattended import alerts
from security.actors import Actor
from tests.compute_support import add_result, create_tasks, seed_fleet
from tests.test_metrics import TOKEN, scrape

from .test_pages import rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet():
    return seed_fleet(queries.now())


def cells(row_html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row_html, re.S)]


def test_networks_and_throughput(alice_client, fleet):
    active, inactive = fleet["networks"]["active"], fleet["networks"]["inactive"]
    page = alice_client.get(reverse("compute-networks") + "?network_state=any")
    listed = {k: cells(v) for k, v in rows(page, "network-row", "data-network").items()}
    # state, weight, waiting running complete error invalid deleted, total, strategy, exception
    assert listed[active.key][1:] == ["active", "0.5", "3", "4", "2", "1", "0", "0", "10", "awake", "-"]
    assert listed[inactive.key][1:] == [
        "inactive", "0.2", "2", "1", "0", "0", "0", "0", "3", "error", "ValueError: no edges left",
    ]  # fmt: skip
    assert set(rows(alice_client.get(reverse("compute-networks")), "network-row", "data-network")) == {active.key}

    page = alice_client.get(reverse("compute-throughput"))
    html = page.content.decode()
    by_service = {k: cells(v)[1:] for k, v in rows(page, "throughput-row", "data-key").items()}
    services = fleet["services"]
    # hour ok/failed, day ok/failed, week ok/failed: alive uploaded one result 30 min ago and two an hour ago
    assert by_service[services["alive"]] == ["1", "0", "3", "0", "3", "0"]
    assert by_service[services["denied"]] == ["0", "1", "0", "1", "0", "1"]
    assert by_service["acme-c1-p1"] == ["1", "1", "3", "1", "3", "1"]
    assert 'id="throughput-scope"' in html and 'id="throughput-service"' in html and "Counted at" in html
    # the command answers the same from the same functions
    out = io.StringIO()
    call_command("compute", "throughput", "--json", stdout=out)
    assert {r["key"]: r["day_ok"] for r in json.loads(out.getvalue())} == {"acme-c1-p1": 3}
    out = io.StringIO()
    call_command("compute", "networks", "--network-state", "inactive", stdout=out)
    assert "strategy error  (ValueError: no edges left)" in out.getvalue() and "waiting 2" in out.getvalue()


def test_totals_count_every_result_when_the_tables_stop_at_the_limit(
    alice_client, client, fleet, settings, monkeypatch
):
    """The totals row, /metrics and the history count the whole store, not the sum of a per-scope
    table cut at ``LIMIT`` rows (here 1, with results in two scopes)."""
    inactive = fleet["networks"]["inactive"]
    add_result(fleet["tasks"]["running_inactive"], ok=True, creator=fleet["services"]["alive"], created=queries.now())
    monkeypatch.setattr(queries, "LIMIT", 1)
    page = alice_client.get(reverse("compute-throughput") + "?recount=1")
    by_scope = page.content.decode().split('id="throughput-scope"', 1)[1]
    assert re.findall(r'data-key="([^"]+)"', by_scope.split("</table>", 1)[0]) == ["acme-c1-p1"]
    total = cells(re.search(r'<tr class="throughput-total">(.*?)</tr>', by_scope, re.S).group(1))
    assert total == ["2", "1", "4", "1", "4", "1"]  # acme-c1-p1's 1/1, 3/1, 3/1 and acme-c2-p2's one just now
    assert inactive.scope == "acme-c2-p2"
    assert (history.sample().results_ok, FleetSample.objects.latest("at").results_failed) == (2, 1)
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED = TOKEN, []
    samples = scrape(client)
    assert samples[("alchemiscale_portal_compute_results_last_hour", (("outcome", "ok"),))] == 2


def test_counts_are_kept_shown_as_of_and_counted_again_on_request(alice_client, fleet):
    url = reverse("compute-tasks")
    first = alice_client.get(url).content.decode()
    assert "Counted at" in first and 'class="recount"' in first
    create_tasks(fleet["networks"]["active"], 5, created=queries.now())
    kept = rows(alice_client.get(url), "scope-row", "data-scope")["acme-c1-p1"]
    assert cells(kept)[1] == "3"  # waiting: as counted before
    again = rows(alice_client.get(url + "?recount=1"), "scope-row", "data-scope")["acme-c1-p1"]
    assert cells(again)[1] == "8"


def test_sampler_history_dashboard_and_home_tile(alice_client, fleet, settings):
    settings.COMPUTE_HISTORY_DAYS = 30
    old = FleetSample.objects.create(at=timezone.now() - dt.timedelta(days=31), tasks={"waiting": 1})
    sample = history.sample()
    assert not FleetSample.objects.filter(pk=old.pk).exists()
    assert sample.tasks == {"waiting": 5, "running": 5, "complete": 2, "error": 1, "invalid": 0, "deleted": 0}
    assert sample.services == {"alive": 1, "stale": 1, "denied": 1}
    assert (sample.results_ok, sample.results_failed, sample.stale_claims) == (1, 1, 1)
    dashboard = alice_client.get(reverse("dashboard")).content.decode()
    assert 'id="dashboard-fleet"' in dashboard and 'id="table-fleet-history"' in dashboard
    assert "Tasks by status, the last 30 days" in dashboard and 'id="table-fleet-throughput"' in dashboard
    home = alice_client.get(reverse("admin:index")).content.decode()
    assert "Compute fleet" in home and "1 alive, 1 stale, 1 denied" in home
    assert "1 claims held by stale services" in home and "5 waiting" in home


def test_metrics_and_alerts(client, fleet, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED = TOKEN, []
    samples = scrape(client)
    prefix = "alchemiscale_portal_"
    assert samples[(prefix + "compute_services", (("state", "stale"),))] == 1
    assert samples[(prefix + "compute_tasks", (("status", "running"),))] == 5
    assert samples[(prefix + "compute_stale_claims", ())] == 1
    assert samples[(prefix + "compute_results_last_hour", (("outcome", "failed"),))] == 1
    assert samples[(prefix + "source_up", (("source", "compute"),))] == 1

    settings.ALERT_EMAILS = ["ops@example.org"]
    opened = {a.key for a in alerts.sweep()["opened"]}
    manager = next(m["id"] for m in queries.managers() if m["status"] == "ERROR")
    assert {"compute:stale-claims", f"compute:manager-error:{manager}", "compute:waiting-with-result"} <= opened
    assert any("tasks claimed by stale compute services" in m.subject for m in mail.outbox)
    sent = len(mail.outbox)
    assert not [a for a in alerts.sweep()["opened"] if a.kind == "compute"]  # once per problem
    assert len(mail.outbox) == sent
    # the stale service is expired: its alert resolves at the next sweep (the action drops the kept counts)
    expire_stale([fleet["services"]["stale"]], Actor.command_line())
    resolved = {a.key for a in alerts.sweep()["resolved"]}
    assert resolved == {"compute:stale-claims"}
    assert Alert.objects.filter(kind="compute", resolved_at__isnull=True).count() == 2
