"""The fleet for what runs with nobody watching: its gauges for ``/metrics`` and its alerts, registered with the
ground floor's registries in apps.py (operations/registries.py; docs/compute.md, "Unattended").

The whole-store counts come from the cache the sampler and the pages fill (compute/counted.py), so a scrape or a
sweep every minute counts a million tasks at most once per kept period.
"""

from __future__ import annotations

import datetime as dt

from operations.registries import Finding, Gauge

from . import fleetwide, queries

ALERT_KIND = "compute"  # Alert.Kind.COMPUTE (a string here: the app's ready() imports this before the models)


def gauges() -> list[Gauge]:
    by_state = queries.services_by_state()
    tasks = fleetwide.tasks_by_status_counted()
    anomalies = fleetwide.anomalies()
    found = {a["name"]: a["count"] for a in anomalies.value}
    totals = fleetwide.throughput_totals_counted().value
    now = queries.now()
    return [
        Gauge(
            "compute_services",
            "alchemiscale compute service registrations by state (alive, stale, denied)",
            ("state",),
            tuple(((state,), n) for state, n in by_state.items()),
        ),
        Gauge(
            "compute_tasks",
            "alchemiscale tasks by status (counted at most a few minutes ago)",
            ("status",),
            tuple(((status,), n) for status, n in tasks.value.items()),
        ),
        Gauge("compute_stale_claims", "Tasks claimed by stale compute services", (), (((), found["stale_claims"]),)),
        Gauge(
            "compute_results_last_hour",
            "Results uploaded within the last hour, by outcome",
            ("outcome",),
            ((("ok",), totals["hour_ok"]), (("failed",), totals["hour_failed"])),
        ),
        Gauge(
            "compute_counts_age_seconds",
            "How old the kept counts of tasks and anomalies are",
            ("count",),
            ((("tasks",), tasks.age(now).total_seconds()), (("anomalies",), anomalies.age(now).total_seconds())),
        ),
    ]


def findings(now: dt.datetime) -> list[Finding]:
    """Claims held by stale services, each manager in ERROR, waiting tasks that hold a good result: one alert per
    problem (a manager is a problem of its own; the claims and the waiting tasks one each, however many)."""
    found = {a["name"]: a for a in fleetwide.anomalies().value}
    problems = []
    stale = found["stale_claims"]
    if stale["count"]:
        services = sorted({s["service"] for s in stale["sample"]})
        problems.append(
            Finding(
                "compute:stale-claims",
                f"{stale['count']} tasks claimed by stale compute services",
                f"{stale['count']} tasks are claimed by compute services that stopped heartbeating (for example "
                f"{', '.join(services)}). alchemiscale releases them only inside another service's heartbeat; if the "
                "whole fleet is down they stay running. Expire the stale registrations on the Compute services page "
                "(/admin/compute/services/?state=stale) or start a service.",
            )
        )
    for manager in queries.managers():
        if manager["status"] == "ERROR":
            problems.append(
                Finding(
                    f"compute:manager-error:{manager['id']}",
                    f"compute manager {manager['name']} is in ERROR",
                    f"The compute manager {manager['id']} reported ERROR: {manager['detail'] or '(no detail)'}. It "
                    "starts no services until its registration is cleared (/admin/compute/managers/).",
                )
            )
    waiting = found["waiting_with_result"]
    if waiting["count"]:
        problems.append(
            Finding(
                "compute:waiting-with-result",
                f"{waiting['count']} waiting tasks already hold a successful result",
                f"{waiting['count']} tasks are waiting though a successful result is there (alchemiscale issue 513), "
                f"e.g. {', '.join(t['task'] for t in waiting['sample'])}. Their work will be computed again. See "
                "/admin/compute/anomalies/.",
            )
        )
    return problems
