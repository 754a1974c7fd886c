"""The dashboard's part about the compute fleet (docs/dashboard.md, "The fleet"): throughput per scope in the last
hour / day / week from the kept counts (compute/fleetwide.py), and the sampled history of the last 30 days
(compute/history.py): tasks by status and results per hour. Each chart is followed by its numbers."""

from __future__ import annotations

import datetime as dt

from compute import fleetwide, history, present, queries

from . import charts

PERMISSION = "compute.view_fleet"
HISTORY_DAYS = 30
#: scopes in the throughput chart (the table under it lists every scope of the week)
CHART_SCOPES = 12


def fleet_context(now: dt.datetime | None = None) -> dict:
    now = now or queries.now()
    by_scope = fleetwide.throughput_counted("scope")
    rows = by_scope.value
    shown = rows[:CHART_SCOPES]
    context: dict = {
        "fleet_throughput": rows,
        "fleet_totals": fleetwide.throughput_totals_counted().value,
        "fleet_windows": [name for name, _ in fleetwide.WINDOWS],
        "fleet_as_of": by_scope.as_of,
        "fleet_as_of_age": present.age_text(by_scope.age(now)),
        "fleet_throughput_chart": charts.grouped(
            "Results uploaded in the last week, per scope (the busiest first)",
            [r["key"] for r in shown],
            {"ok": [r["week_ok"] for r in shown], "failed": [r["week_failed"] for r in shown]},
            stacked=True,
            x_label_rotation=25,
        )
        if shown
        else None,
    }
    samples = history.series(now - dt.timedelta(days=HISTORY_DAYS))
    context["fleet_samples"] = len(samples)
    if not samples:
        return context
    statuses = [s for s in fleetwide.states.TASK_STATUSES if any(p.tasks.get(s) for p in samples)]
    context["fleet_tasks_chart"] = charts.over_time(
        f"Tasks by status, the last {HISTORY_DAYS} days (sampled)",
        {s: [(p.at, p.tasks.get(s, 0)) for p in samples] for s in statuses},
        charts.COUNT,
    )
    context["fleet_results_chart"] = charts.over_time(
        f"Results uploaded per hour, the last {HISTORY_DAYS} days (sampled)",
        {"ok": [(p.at, p.results_ok) for p in samples], "failed": [(p.at, p.results_failed) for p in samples]},
        charts.COUNT,
    )
    # the numbers: the last sample of each day
    daily = {p.at.date(): p for p in samples}
    context["fleet_statuses"] = fleetwide.states.TASK_STATUSES
    context["fleet_days"] = [
        (day, [p.tasks.get(s, 0) for s in fleetwide.states.TASK_STATUSES], p.results_ok, p.results_failed)
        for day, p in sorted(daily.items(), reverse=True)
    ]
    return context
