"""What alchemiscale 0.8 adds to the store (TaskProvenance, t.reason, t.datetime_status_changed), written as 0.8
writes it: shown on the task list where the store holds it, and kept true by "expire stale registrations now"."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from compute import actions, queries
from identities import store
from security.actors import Actor
from tests.compute_support import claim_v08, create_network, create_tasks, register_service, service_id, set_status_v08

from .test_pages import rows

pytestmark = pytest.mark.django_db


def task_list(client, status: str) -> dict[str, str]:
    query = {"org": "acme", "campaign": "c9", "project": "p9", "status": status}
    return rows(client.get(reverse("compute-task-list") + "?" + urlencode(query)), "task-row", "data-task")


def test_attempts_reason_and_status_age_shown_and_kept_by_expiry(alice_client):
    now = queries.now()
    worker = register_service(service_id("gpu"), heartbeat=now - dt.timedelta(hours=2), hostname="gpu-07")
    network = create_network("acme-c9-p9")
    running, failed = create_tasks(network, 2, created=now - dt.timedelta(hours=3))
    claim_v08(worker, running, now - dt.timedelta(hours=2, minutes=30))
    set_status_v08(failed, "error", now - dt.timedelta(minutes=40), reason="ProtocolDAG creation failed: no edges")

    shown = task_list(alice_client, "running")[running]
    assert f"1; last on {worker} (gpu-07), open" in shown and "2 h 30 min" in shown
    assert "ProtocolDAG creation failed: no edges" in task_list(alice_client, "error")[failed]

    removed = actions.expire_stale([worker], Actor.command_line(), at=now)
    assert removed == {worker: [running]}
    task, attempt = store.cypher(
        "MATCH (t:Task {_scoped_key: $t})<-[:PROVENANCE_OF]-(tp:TaskProvenance) RETURN properties(t), properties(tp)",
        {"t": running},
    )[0]
    assert task["status"] == "waiting" and "reason" not in task
    assert task["datetime_status_changed"].to_native() == now
    assert attempt["outcome"] == "expired" and attempt["datetime_end"].to_native() == now
    assert attempt["compute_service_id"] == worker and attempt["hostname"] == "gpu-07"
    waiting = task_list(alice_client, "waiting")
    assert "1; last on" in waiting[running] and "expired" in waiting[running]
