"""The dashboard: the figures it draws are the store's and the catalog's, shown only to staff who may see them."""

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from identities import services
from identities.audit import Actor
from identities.nodes import KINDS

from .glance_support import ended_run, finished_backup
from .identity_support import seed_plain

pytestmark = pytest.mark.django_db
DASHBOARD = "/admin/dashboard/"


def table(html: str, table_id: str) -> list[list[str]]:
    body = re.search(rf'<table id="{table_id}">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_dashboard_figures(alice_client):
    now = timezone.now()
    finished_backup(now - dt.timedelta(days=8), size=2 * 1024 * 1024, seconds=30, outage=9, n=1)
    finished_backup(now - dt.timedelta(days=1), size=3 * 1024 * 1024, seconds=50, outage=None, n=2)
    ended_run("restore", "failed", now - dt.timedelta(days=1))
    ended_run("backup", "cancelled", now - dt.timedelta(days=1))
    actor = Actor.command_line()
    seed_plain(
        "user",
        [{"identifier": f"u{i}", "scopes": ["acme-c-p"]} for i in range(5)]
        + [
            {"identifier": "wild", "scopes": ["*-*-*", "acme-c-p"]},
            {"identifier": "beta-only", "scopes": ["beta-x-*"], "expires": now + dt.timedelta(days=2, hours=1)},
            {"identifier": "old", "expires": now - dt.timedelta(days=1)},
        ],
    )
    services.add_identity(KINDS["compute"], "worker", "k", actor, scopes=["gamma-a-b"])
    services.disable_identity(KINDS["compute"], "worker", actor)

    response = alice_client.get(DASHBOARD)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<script" not in html.split('id="content-main"')[1]  # the charts carry no JavaScript
    assert html.count('<svg role="img"') == 6
    backups = table(html, "table-backups")
    assert [row[3:] for row in backups] == [["30.0", "9.0"], ["50.0", "-"]]  # no outage when Neo4j was not stopped
    runs = table(html, "table-runs")
    total = {
        status: sum(int(row[1 + i]) for row in runs)
        for i, status in enumerate(["pending", "running", "succeeded", "failed", "errored", "interrupted", "cancelled"])
    }
    assert total["succeeded"] == 2 and total["failed"] == 1 and total["cancelled"] == 1
    assert table(html, "table-identities") == [["user", "7", "0", "1", "1"], ["compute", "0", "1", "0", "0"]]
    assert table(html, "table-expiry") == [["3", "1", "0"]]
    # acme: 5 + wild (counted once despite holding both); beta and gamma: their holder + wild.
    assert table(html, "table-orgs") == [["acme", "6"], ["beta", "2"], ["gamma", "2"]]


def test_dashboard_shows_only_what_the_user_may_see(client, bob):
    client.force_login(bob)
    assert client.get(DASHBOARD).status_code == 403
    assert "Dashboard" not in client.get("/admin/").content.decode()
    bob.user_permissions.add(Permission.objects.get(codename="view_identity"))
    html = client.get(DASHBOARD).content.decode()
    assert 'id="dashboard-identities"' in html
    assert 'id="dashboard-backups"' not in html and 'id="dashboard-runs"' not in html
    assert "Dashboard" in client.get("/admin/").content.decode()
