"""The runs list sends the same few queries however many runs the page shows (the progress column's steps are
fetched for the whole page at once). Unit tier: the portal's database only."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from operations.models import OperationRun, OperationStep

pytestmark = [pytest.mark.unit, pytest.mark.django_db, pytest.mark.postgres]


def add_runs(n: int) -> None:
    runs = OperationRun.objects.bulk_create(
        OperationRun(kind="backup", target=f"t{i}", requested_by_label="x", status="succeeded") for i in range(n)
    )
    OperationStep.objects.bulk_create(
        OperationStep(run=run, position=p, name=f"s{p}", status="ok" if p < 3 else "pending")
        for run in runs
        for p in range(1, 6)
    )


def queries_for_the_list(client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        html = client.get(reverse("admin:operations_operationrun_changelist")).content.decode()
    return len(queries), html


def test_the_runs_list_query_count_does_not_grow_with_the_rows(alice_client):
    add_runs(2)
    queries_for_the_list(alice_client)  # the first request of a session also reads what later ones keep
    few, html = queries_for_the_list(alice_client)
    assert html.count("step 2 of 5") == 2
    add_runs(18)
    many, html = queries_for_the_list(alice_client)
    assert html.count("step 2 of 5") == 20
    assert many == few, f"{few} queries for 2 runs, {many} for 20"
