"""The fleet's history: every ``PORTAL_COMPUTE_SAMPLE_MINUTES`` (2) the sampler counts the fleet once, keeps the
counts in the cache for the pages (compute/counted.py) and a row in the portal's database for the dashboard's 30-day
charts (docs/compute.md, "History"). Rows older than ``PORTAL_COMPUTE_HISTORY_DAYS`` are pruned by the same run.

Beat sends the task ``compute.sample_fleet`` (compute/tasks.py) on a schedule created with the others.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from . import fleetwide, queries
from .models import FleetSample


def sample(at: dt.datetime | None = None) -> FleetSample:
    """Count now (whatever the cache holds), keep the answers for the pages, write one sample, prune old ones."""
    at = at or queries.now()
    tasks = fleetwide.tasks_by_status_counted(recount=True).value
    fleetwide.throughput_counted("scope", recount=True)
    fleetwide.throughput_counted("service", recount=True)
    totals = fleetwide.throughput_totals_counted(recount=True).value
    found = {a["name"]: a["count"] for a in fleetwide.anomalies(recount=True).value}
    # what the pages open first, counted here so that an operator seldom waits for it
    fleetwide.scope_status("active", recount=True)
    fleetwide.networks_counted("active", recount=True)
    row = FleetSample.objects.create(
        at=at,
        tasks=tasks,
        services=queries.services_by_state(at),
        results_ok=totals["hour_ok"],
        results_failed=totals["hour_failed"],
        stale_claims=found["stale_claims"],
    )
    prune(at)
    return row


def prune(at: dt.datetime) -> int:
    return FleetSample.objects.filter(at__lt=at - dt.timedelta(days=settings.COMPUTE_HISTORY_DAYS)).delete()[0]


def series(since: dt.datetime) -> list[FleetSample]:
    """The samples since ``since``, oldest first (at most one a sampling interval: about 21,600 in 30 days)."""
    return list(FleetSample.objects.filter(at__gte=since).order_by("at"))
