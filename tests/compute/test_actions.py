"""The fleet's two actions: what they change in the graph (alchemiscale's semantics), the audit row, and that they
are refused without the permission or a recent step-up, changing nothing."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from compute import queries
from compute.models import FleetAuditEntry
from identities import store
from security import proof, roles
from tests.compute_support import register_service, seed_fleet, service_id

from ..identity_support import graph_fingerprint

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet():
    return seed_fleet(queries.now())


@pytest.fixture
def operator_client(client, django_user_model):
    user = django_user_model.objects.create_user("op", "op@example.org", "pw-op", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.OPERATOR))
    client.force_login(user)  # a login is a fresh proof (security/proof.py)
    return client


def status_of(task: str) -> str | None:
    rows = store.cypher("MATCH (t:Task {_scoped_key: $t}) RETURN t.status", {"t": task})
    return rows[0][0] if rows else None


def registered(identifier: str) -> bool:
    return bool(store.cypher("MATCH (n:ComputeServiceRegistration {identifier: $i}) RETURN n", {"i": identifier}))


def test_expire_stale_lists_then_does_exactly_that(operator_client, fleet):
    stale, alive = fleet["services"]["stale"], fleet["services"]["alive"]
    task = fleet["tasks"]["running_stale"]
    url = reverse("compute-expire-stale")
    page = operator_client.get(url).content.decode()
    assert f'data-identifier="{stale}"' in page and task in page and alive not in page
    # a second stale registration that heartbeats again after the page was shown is left alone
    late = register_service(service_id("late"), heartbeat=queries.now() - dt.timedelta(hours=1))
    store.cypher(
        "MATCH (n:ComputeServiceRegistration {identifier: $i}) SET n.heartbeat = $now",
        {"i": late, "now": queries.now()},
    )
    response = operator_client.post(url, {"confirm": "yes", "identifier": [stale, late]})
    assert response.status_code == 302 and response.url == reverse("compute-services")
    assert not registered(stale) and registered(late) and registered(alive)
    assert status_of(task) == "waiting"
    # a store before 0.8 (no TaskProvenance) gets no status time: only the status changes, as that release does
    keys = store.cypher("MATCH (t:Task {_scoped_key: $t}) RETURN keys(t)", {"t": task})[0][0]
    assert "datetime_status_changed" not in keys and "reason" not in keys
    assert all(status_of(t) == "running" for t in fleet["tasks"]["running_alive"])
    entry = FleetAuditEntry.objects.get()
    assert (entry.actor, entry.action) == ("op", "expire-stale")
    assert entry.changed["registrations"] == {stale: [task]}
    # nothing stale any more: a replayed POST changes nothing and says so
    again = operator_client.post(url, {"confirm": "yes", "identifier": [stale]})
    assert again.status_code == 409 and b"nothing was changed" in again.content
    assert FleetAuditEntry.objects.count() == 1


def test_clear_manager_error(operator_client, fleet):
    manager = next(m for m in queries.managers() if m["status"] == "ERROR")
    url = reverse("compute-clear-manager", args=[manager["id"]])
    assert b"node pool exhausted" in operator_client.get(url).content
    assert operator_client.post(url, {"confirm": "yes"}).status_code == 302
    assert [m["name"] for m in queries.managers()] == ["mgr-ok"]
    assert registered(fleet["services"]["denied"])  # its services stay
    entry = FleetAuditEntry.objects.get()
    assert entry.action == "clear-manager-error" and entry.changed["manager"] == manager["id"]
    ok = next(m for m in queries.managers() if m["status"] == "OK")
    refused = operator_client.post(reverse("compute-clear-manager", args=[ok["id"]]), {"confirm": "yes"})
    assert refused.status_code == 409 and [m["name"] for m in queries.managers()] == ["mgr-ok"]


def test_refused_without_the_permission_or_the_step_up(client, django_user_model, operator_client, fleet):
    manager = next(m for m in queries.managers() if m["status"] == "ERROR")
    posts = [
        (reverse("compute-expire-stale"), {"confirm": "yes", "identifier": [fleet["services"]["stale"]]}),
        (reverse("compute-clear-manager", args=[manager["id"]]), {"confirm": "yes"}),
    ]
    before = graph_fingerprint()
    # an old proof: sent to the step-up page
    session = operator_client.session
    session[proof.PROOF_KEY] = time.time() - 3600
    session.save()
    for url, data in posts:
        response = operator_client.post(url, data)
        assert response.status_code == 302 and response.url == reverse("step-up")
    # staff who may look but not act (view_fleet only)
    viewer = django_user_model.objects.create_user("viewer", "v@example.org", "pw-v", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename="view_fleet"))
    client.force_login(viewer)
    assert client.get(reverse("compute-services")).status_code == 200
    for url, data in posts:
        assert client.post(url, data).status_code == 403
        assert client.get(url).status_code == 403
    assert graph_fingerprint() == before and FleetAuditEntry.objects.count() == 0
