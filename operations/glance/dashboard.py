"""The dashboard (``/admin/dashboard/``): backups, runs, identities and the compute fleet at a glance, each part shown only to staff
who may see its subject, every chart followed by its numbers as a table (docs/dashboard.md)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse

from operations.models import RunStatus

from . import charts, figures, fleet

PERMISSIONS = {
    "backups": "operations.view_backup",
    "runs": "operations.view_operationrun",
    "identities": "identities.view_identity",
    "fleet": fleet.PERMISSION,
}


def visible_parts(user) -> set[str]:
    return {part for part, permission in PERMISSIONS.items() if user.has_perm(permission)}


def dashboard_page(request: HttpRequest) -> TemplateResponse:
    parts = visible_parts(request.user)
    if not parts:
        raise PermissionDenied
    context = {**admin.site.each_context(request), "title": "Dashboard", "parts": parts}
    if "backups" in parts:
        context.update(_backups())
    if "runs" in parts:
        context.update(_runs())
    if "identities" in parts:
        context.update(_identities())
    if "fleet" in parts:
        context.update(fleet.fleet_context())
    return TemplateResponse(request, "admin/dashboard.html", context)


def _backups() -> dict:
    points = figures.backup_timeline()
    if not points:
        return {"backup_points": points}
    return {
        "backup_points": points,
        "backup_size_chart": charts.over_time("Backup size", {"size": [(p.at, p.size) for p in points]}, charts.BYTES),
        "backup_time_chart": charts.over_time(
            "Backup duration and Neo4j outage",
            {
                "duration of the run": [(p.at, p.duration) for p in points],
                "Neo4j down (stop to started)": [(p.at, p.outage) for p in points],
            },
            charts.SECONDS,
        ),
    }


def _runs() -> dict:
    weeks, series = figures.runs_per_week()
    # From the first week that had a run: a new instance would otherwise show a row of empty weeks before its first.
    busy = [i for i in range(len(weeks)) if any(values[i] for values in series.values())]
    context: dict = {"statuses": RunStatus.values, "weeks_shown": len(weeks), "runs_chart": None, "week_rows": []}
    if not busy:
        return context
    weeks, series = weeks[busy[0] :], {status: values[busy[0] :] for status, values in series.items()}
    shown = {status: values for status, values in series.items() if any(values)}
    context["week_rows"] = [(week, [series[s][i] for s in RunStatus.values]) for i, week in enumerate(weeks)]
    context["runs_chart"] = charts.stacked_weeks(
        "Runs per week (by the week they were requested), by outcome", weeks, shown
    )
    return context


def _identities() -> dict:
    counts = figures.identity_counts()
    orgs = figures.identities_reaching_orgs()
    days = [str(day + 1) for day in range(figures.EXPIRY_WINDOW_DAYS)]
    return {
        "identity_counts": counts,
        "expiry_days": figures.EXPIRY_WINDOW_DAYS,
        "status_chart": charts.grouped(
            "Identities by type and status",
            [c.kind for c in counts],
            {status: [getattr(c, status) for c in counts] for status in ("active", "disabled", "expired")},
        ),
        "expiry_chart": charts.grouped(
            f"Active identities expiring in the next {figures.EXPIRY_WINDOW_DAYS} days (by day from now)",
            days,
            {c.kind: c.expiring_by_day for c in counts},
            stacked=True,
            x_labels_major_every=5,
            show_minor_x_labels=False,
        ),
        "expiry_rows": [
            (days[i], [c.expiring_by_day[i] for c in counts])
            for i in range(len(days))
            if any(c.expiring_by_day[i] for c in counts)
        ],
        "orgs": orgs,
        "orgs_chart": charts.ranking(f"The {figures.TOP_ORGS} orgs the most identities can reach", orgs),
    }
