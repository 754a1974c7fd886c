"""The fleet's admin pages on a fleet written as alchemiscale writes it: what each shows, and who may open them."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from compute import queries
from security import roles
from tests.compute_support import seed_fleet

from ..identity_support import graph_fingerprint

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet():
    return seed_fleet(queries.now())


def rows(response, cls: str, attr: str) -> dict[str, str]:
    html = response.content.decode()
    return {
        m.group(1): m.group(2)
        for m in re.finditer(rf'<tr class="{cls}[^"]*" {attr}="([^"]+)"[^>]*>(.*?)</tr>', html, re.S)
    }


def test_services_list_filters_sort_and_page(alice_client, fleet):
    ids = fleet["services"]
    page = alice_client.get(reverse("compute-services"))
    assert page.status_code == 200
    listed = rows(page, "service-row", "data-identifier")
    assert set(listed) == set(ids.values())
    assert "gpu-01" in listed[ids["alive"]] and "mgr-ok" in listed[ids["alive"]]
    assert 'data-state="stale"' in page.content.decode()
    stale = alice_client.get(reverse("compute-services") + "?state=stale")
    assert set(rows(stale, "service-row", "data-identifier")) == {ids["stale"]}
    assert set(rows(alice_client.get(reverse("compute-services") + "?q=denied"), "service-row", "data-identifier")) == {
        ids["denied"]
    }
    by_claims = alice_client.get(reverse("compute-services") + "?sort=-claims")
    assert list(rows(by_claims, "service-row", "data-identifier"))[0] == ids["alive"]
    assert alice_client.get(reverse("compute-services") + "?sort=nonsense").status_code == 400
    assert alice_client.get(reverse("compute-services") + "?state=dead").status_code == 400

    one = alice_client.get(reverse("compute-service", args=[ids["stale"]]))
    html = one.content.decode()
    assert '<td id="service-state">stale</td>' in html
    assert set(rows(one, "claim-row", "data-task")) == {fleet["tasks"]["running_stale"]}
    assert alice_client.get(reverse("compute-service", args=["nobody-" + "0" * 32])).status_code == 404


def test_managers_error_first(alice_client, fleet):
    page = alice_client.get(reverse("compute-managers"))
    listed = rows(page, "manager-row", "data-name")
    assert list(listed) == ["mgr-bad", "mgr-ok"]
    assert "node pool exhausted" in listed["mgr-bad"] and fleet["services"]["denied"] in listed["mgr-bad"]


def test_tasks_by_scope_link_to_bounded_lists(alice_client, fleet):
    page = alice_client.get(reverse("compute-tasks"))
    listed = rows(page, "scope-row", "data-scope")
    assert list(listed) == ["acme-c1-p1"]  # the other network is inactive
    links = re.findall(r'<a href="([^"]+)">(\d+)</a>', listed["acme-c1-p1"])
    assert [int(n) for _, n in links] == [3, 4, 2, 1]  # waiting, running, complete, error
    error_url = [url for url, _ in links if "status=error" in url][0].replace("&amp;", "&")
    errored = alice_client.get(error_url)
    tasks = rows(errored, "task-row", "data-task")
    assert list(tasks) == [fleet["tasks"]["error"]]
    assert (
        "Traceback: boom" in tasks[fleet["tasks"]["error"]]
        and fleet["services"]["denied"] in tasks[fleet["tasks"]["error"]]
    )
    every = rows(alice_client.get(reverse("compute-tasks") + "?network_state=any"), "scope-row", "data-scope")
    assert set(every) == {"acme-c1-p1", "acme-c2-p2"}
    query = {"org": "acme", "campaign": "c2", "project": "p2", "status": "waiting", "network_state": "inactive"}
    inactive = alice_client.get(reverse("compute-task-list") + "?" + urlencode(query))
    assert set(rows(inactive, "task-row", "data-task")) == set(fleet["tasks"]["waiting_inactive"])
    assert alice_client.get(reverse("compute-task-list") + "?org=acme&status=waiting").status_code == 400
    assert alice_client.get(reverse("compute-tasks") + "?network_state=gone").status_code == 400


def test_anomalies_show_count_sample_and_cypher(alice_client, fleet):
    html = alice_client.get(reverse("compute-anomalies")).content.decode()
    for name in (
        "running_unclaimed",
        "stale_claims",
        "waiting_with_result",
        "running_inactive_network",
        "strategy_errors",
        "managers_error",
    ):
        assert f'id="anomaly-{name}" data-count="1"' in html, name
    assert fleet["tasks"]["running_unclaimed"] in html and "no edges left" in html
    assert "WHERE NOT (t)&lt;-[:CLAIMS]-(:ComputeServiceRegistration)" in html


def test_only_holders_of_view_fleet_open_the_pages_and_nothing_changes(client, django_user_model, fleet):
    urls = [
        reverse("compute-services"),
        reverse("compute-service", args=[fleet["services"]["alive"]]),
        reverse("compute-managers"),
        reverse("compute-tasks"),
        reverse("compute-task-list") + "?org=acme&campaign=c1&project=p1&status=running",
        reverse("compute-anomalies"),
        reverse("compute-networks"),
        reverse("compute-throughput"),
    ]
    before = graph_fingerprint()
    operator = django_user_model.objects.create_user("op", "op@example.org", "pw-op", is_staff=True)
    operator.groups.add(Group.objects.get(name=roles.OPERATOR))
    keeper = django_user_model.objects.create_user("keeper", "k@example.org", "pw-k", is_staff=True)
    keeper.groups.add(Group.objects.get(name=roles.IDENTITY_MANAGER))
    client.force_login(operator)
    assert [client.get(u).status_code for u in urls] == [200] * len(urls)
    assert "Compute: services" in client.get(reverse("admin:index")).content.decode()
    client.force_login(keeper)
    assert [client.get(u).status_code for u in urls] == [403] * len(urls)
    assert "Compute: services" not in client.get(reverse("admin:index")).content.decode()
    client.logout()
    assert all(client.get(u).status_code == 302 for u in urls)
    assert graph_fingerprint() == before


def test_status_page_line_red_while_claims_are_held_by_stale_services(alice_client, fleet):
    html = alice_client.get(reverse("system-status")).content.decode()
    assert '<tr class="check red" data-component="Compute services"' in html
    assert "1 claims held by stale services; 1 managers in ERROR" in html
