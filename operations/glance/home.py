"""The admin's front page (``/admin/``): what an operator needs to know first, as tiles that each link to where to
act, then the admin's list of models, with the libraries' own models under "Advanced" for superusers
(docs/staff.md "The front page").

Every tile is a bounded read: the newest backup and its copies, the enabled schedules, a count and the newest few
open alerts, one settings row, and the status page's own checks (whose worker roll call is the only broadcast).
Settings rows that do not exist yet are read as their defaults, not created: opening a page writes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timeuntil

from compute import fleetwide
from compute import queries as fleet_queries
from compute.models import FleetSample

from .. import checks
from ..backups import offsite
from ..humanize import human_since
from ..models import Alert, AlertSettings, Backup, BackupCopy, RetentionPolicy
from ..unattended import alerts
from ..unattended.beat import beat_alive
from ..unattended.schedules import next_due_backup

# Apps whose models are a library's bookkeeping, not the portal's: login throttling's records and beat's own
# schedule tables (the portal's schedules edit those). Staff act on them rarely, and only superusers may.
ADVANCED_APPS = frozenset({"axes", "django_celery_beat"})
OPEN_ALERTS_SHOWN = 3


@dataclass
class Tile:
    key: str
    title: str
    headline: str
    state: str  # "ok", "warn" (works, but something is missing) or "bad" (act now)
    lines: list[tuple[str, str]] = field(default_factory=list)  # (state, words)
    links: list[tuple[str, str]] = field(default_factory=list)  # (url, words): where to act

    @property
    def headline_state(self) -> str:
        """The headline is red only when it is the bad news: "none open" stays plain on a tile that is red because
        alerts go nowhere."""
        return "ok" if any(state == "bad" for state, _ in self.lines) else self.state


def home_page(request: HttpRequest) -> TemplateResponse:
    context = admin.site.each_context(request)
    apps = context["available_apps"]  # each_context has already listed what this user may see
    context.update(
        title=admin.site.index_title,
        subtitle=None,
        app_list=[app for app in apps if app["app_label"] not in ADVANCED_APPS],
        advanced_apps=[app for app in apps if app["app_label"] in ADVANCED_APPS] if request.user.is_superuser else [],
        tiles=tiles(request.user),
    )
    request.current_app = admin.site.name
    return TemplateResponse(request, "admin/index.html", context)


def tiles(user, now: dt.datetime | None = None) -> list[Tile]:
    now = now or timezone.now()
    shown = [health_tile()]
    if user.has_perm("operations.view_backup"):
        shown.append(newest_backup_tile(now))
    if user.has_perm("operations.view_backupschedule"):
        shown.append(next_backup_tile(now))
    if user.has_perm("operations.view_alert"):
        shown.append(alerts_tile(can_configure=user.has_perm("operations.view_alertsettings")))
    if user.has_perm("compute.view_fleet"):
        shown.append(fleet_tile())
    return shown


def health_tile() -> Tile:
    found = checks.run_all("components") + checks.run_all("unattended")
    red = [c for c in found if not c.ok]
    headline = f"all {len(found)} checks green" if not red else f"{len(red)} of {len(found)} red"
    return Tile(
        "health",
        "Health",
        headline,
        "bad" if red else "ok",
        lines=[("ok" if c.ok else "bad", f"{c.name}: {c.detail}") for c in red + [c for c in found if c.ok]],
        links=[(reverse("system-status"), "System status")],
    )


def newest_backup_tile(now: dt.datetime) -> Tile:
    target = settings.OPERATIONS_TARGET
    backups = reverse("admin:operations_backup_changelist")
    links = [(backups, "Backups: back up now, restore")]
    newest = Backup.objects.filter(target=target).order_by("-created_at", "-pk").first()
    if newest is None:
        return Tile("newest-backup", "Newest backup", f"no backup of {target} yet", "bad", links=links)
    policy = RetentionPolicy.objects.filter(pk=1).first() or RetentionPolicy()
    stale = bool(policy.stale_after_hours) and now - newest.created_at > dt.timedelta(hours=policy.stale_after_hours)
    lines = [
        ("bad" if stale else "ok", f"{newest.file_name}, made {newest.created_at:%Y-%m-%d %H:%M} UTC"),
        _verification(newest),
        _offsite(newest),
    ]
    links.insert(0, (reverse("admin:operations_backup_change", args=[newest.pk]), "This backup"))
    worst = "bad" if any(s == "bad" for s, _ in lines) else "warn" if any(s == "warn" for s, _ in lines) else "ok"
    return Tile("newest-backup", "Newest backup", f"{human_since(newest.created_at, now)} ago", worst, lines, links)


def _verification(backup: Backup) -> tuple[str, str]:
    if backup.verification == Backup.Verification.OK:
        return "ok", f"verified {backup.verified_at:%Y-%m-%d %H:%M} UTC" if backup.verified_at else "verified"
    if backup.verification == Backup.Verification.FAILED:
        return "bad", "verification FAILED"
    return "warn", "never verified"


def _offsite(backup: Backup) -> tuple[str, str]:
    if not offsite.configured():
        return "warn", "off-site copies are off (PORTAL_OFFSITE_REMOTE is empty)"
    states = set(backup.copies.filter(remote=offsite.remote()).values_list("state", flat=True))
    if BackupCopy.State.OK in states:
        return "ok", f"copied off-site to {offsite.remote()}"
    if BackupCopy.State.FAILED in states:
        return "bad", "off-site copy FAILED"
    if BackupCopy.State.PENDING in states:
        return "warn", "off-site copy pending"
    return "warn", "not copied off-site"


def next_backup_tile(now: dt.datetime) -> Tile:
    links = [(reverse("admin:operations_backupschedule_changelist"), "Edit the schedules")]
    due = next_due_backup(now)
    alive, beat_detail = beat_alive()
    if due is None:
        return Tile("next-backup", "Next scheduled backup", "no backup schedule is enabled", "bad", links=links)
    schedule, at = due
    lines = [("ok", f"{at:%Y-%m-%d %H:%M} UTC, schedule {schedule.name!r}")]
    if not alive:
        lines.append(("bad", f"it will not fire: {beat_detail}"))
    return Tile(
        "next-backup", "Next scheduled backup", f"in {timeuntil(at, now)}", "ok" if alive else "bad", lines, links
    )


def alerts_tile(*, can_configure: bool) -> Tile:
    open_alerts = Alert.objects.filter(resolved_at__isnull=True)
    count = open_alerts.count()
    newest = list(open_alerts.order_by("-opened_at", "-pk").values_list("subject", flat=True)[:OPEN_ALERTS_SHOWN])
    row = AlertSettings.objects.filter(pk=1).first() or AlertSettings()
    to = alerts.recipients(row)
    # A webhook's address carries its secret: the tile says only that there is one.
    channels = to + (["a webhook"] if alerts.webhook_url(row) else [])
    lines = [("bad", subject) for subject in newest]
    if count > len(newest):
        lines.append(("bad", f"and {count - len(newest)} more"))
    lines.append(("ok", f"alerts go to: {', '.join(channels)}") if channels else ("bad", "alerts go to: nobody"))
    links = [(reverse("admin:operations_alert_changelist") + "?resolved_at__isempty=1", "Open alerts")]
    if can_configure:
        links.append((reverse("admin:operations_alertsettings_changelist"), "Where alerts go"))
    headline = "none open" if not count else f"{count} open"
    return Tile("alerts", "Alerts", headline, "bad" if count or not channels else "ok", lines, links)


def fleet_tile() -> Tile:
    """The compute fleet: services by state now, the kept anomaly counts (compute/fleetwide.py) and the tasks of the
    newest history sample: nothing here counts every task."""
    links = [
        (reverse("compute-services"), "Compute services"),
        (reverse("compute-anomalies"), "Anomalies"),
        (reverse("compute-tasks"), "Tasks by scope"),
    ]
    try:
        by_state = fleet_queries.services_by_state()
        found = {a["name"]: a for a in fleetwide.anomalies().value}
    except Exception as exc:  # the store down is the tile's news, not the front page's error
        return Tile("fleet", "Compute fleet", "the state store does not answer", "bad", [("bad", f"{exc}")], links)
    lines = [
        (
            "bad" if found["stale_claims"]["count"] else "ok",
            f"{found['stale_claims']['count']} claims held by stale services",
        ),
        ("bad" if found["managers_error"]["count"] else "ok", f"{found['managers_error']['count']} managers in ERROR"),
    ]
    if found["waiting_with_result"]["count"]:
        lines.append(("warn", f"{found['waiting_with_result']['count']} waiting tasks already hold a good result"))
    sample = FleetSample.objects.order_by("-at").first()
    if sample is not None:
        tasks = ", ".join(f"{n} {status}" for status, n in sample.tasks.items() if n)
        lines.append(("ok", f"tasks at {sample.at:%H:%M} UTC: {tasks or 'none'}"))
    worst = "bad" if any(s == "bad" for s, _ in lines) else "warn" if any(s == "warn" for s, _ in lines) else "ok"
    headline = f"{by_state['alive']} alive, {by_state['stale']} stale, {by_state['denied']} denied"
    return Tile("fleet", "Compute fleet", headline, worst, lines, links)
