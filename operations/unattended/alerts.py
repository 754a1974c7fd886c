"""Alerts (docs/unattended.md): every sweep works out which problems exist now, opens an alert for each new one
and resolves those that cleared, telling staff once each way by e-mail (Django's mail) and an optional webhook.

A problem is identified by a key (``run:<target>:<kind>``, ``stale:<target>``, ``free-space:<dir>``,
``expiring:<type>:<identifier>``); at most one alert per key is open (a partial unique constraint), so a problem
that persists is not sent again every sweep. A check that cannot be made (Neo4j down for the expiry check) neither
opens nor resolves alerts of its kind.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import shutil
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from identities import store
from identities.nodes import KINDS
from operations import registries
from operations.humanize import human_seconds, human_size
from operations.models import Alert, AlertSettings, Backup, OperationRun, RetentionPolicy, RunStatus
from operations.runs import overdue
from operations.unattended import webhooks
from operations.unattended.schedules import broken_tasks, describe_broken
from security.masking import mask_url

logger = logging.getLogger(__name__)

BAD_OUTCOMES = (RunStatus.FAILED, RunStatus.ERRORED, RunStatus.INTERRUPTED)
SUBJECT_PREFIX = "[alchemiscale-portal] "


@dataclasses.dataclass(frozen=True)
class Problem:
    key: str
    kind: str
    subject: str
    message: str


# -- what is wrong now -------------------------------------------------------------------------------------------
def run_problems() -> list[Problem]:
    """The latest finished run of each kind on each target, when it failed, errored or was interrupted. A later
    successful run of that kind clears it (cancelled runs say nothing either way)."""
    finished = OperationRun.objects.exclude(status__in=[RunStatus.PENDING, RunStatus.RUNNING, RunStatus.CANCELLED])
    latest: dict[tuple[str, str], OperationRun] = {}
    # One query per (target, kind) pair rather than reading every run ever made each minute.
    for pair in finished.order_by().values_list("target", "kind").distinct():
        run = (
            finished.filter(target=pair[0], kind=pair[1])
            .order_by(F("finished_at").desc(nulls_last=True), "-pk")
            .only("pk", "kind", "target", "status", "error", "finished_at", "requested_by_label")
            .first()
        )
        if run is not None:
            latest[pair] = run
    problems = []
    for (target, kind), run in sorted(latest.items()):
        if run.status in BAD_OUTCOMES:
            lines = (run.error or "").strip().splitlines()
            # A traceback's last line says what went wrong; a failure's reason is at its start.
            reason = (lines[-1] if run.status == RunStatus.ERRORED else " ".join(lines[:3])) if lines else ""
            ended = run.finished_at or run.requested_at
            # An interrupted run (its worker died; recovery touched the target) is news even after a failed one.
            key = f"run:{target}:{kind}" + (":interrupted" if run.status == RunStatus.INTERRUPTED else "")
            problems.append(
                Problem(
                    key,
                    Alert.Kind.RUN,
                    f"{kind} #{run.pk} {run.status} on {target}",
                    f"{kind} #{run.pk} on {target}, requested by {run.requested_by_label}, {run.status} at "
                    f"{ended:%Y-%m-%d %H:%M:%S} UTC:\n{reason}\n\n"
                    f"Its steps and log: /admin/operations/operationrun/{run.pk}/change/",
                )
            )
    return problems


def stale_problems(now: dt.datetime) -> list[Problem]:
    hours = RetentionPolicy.current().stale_after_hours
    if not hours:
        return []
    target = settings.OPERATIONS_TARGET
    newest = Backup.objects.filter(target=target).order_by("-created_at").first()
    if newest is not None and now - newest.created_at <= dt.timedelta(hours=hours):
        return []
    since = (
        "there is no backup at all"
        if newest is None
        else f"the newest is {newest.file_name} from {newest.created_at:%Y-%m-%d %H:%M} UTC"
    )
    return [
        Problem(
            f"stale:{target}",
            Alert.Kind.STALE,
            f"no backup of {target} in the last {hours} h",
            f"No backup of target {target!r} succeeded in the last {hours} hours: {since}. Check the "
            f"backup schedules, that celery beat and a worker run, and the latest backup runs.",
        )
    ]


def free_space_problems(alert_settings: AlertSettings) -> list[Problem]:
    if not alert_settings.min_free_mib:
        return []
    directory = settings.BACKUP_DIR
    key = f"free-space:{directory}"
    try:
        free = shutil.disk_usage(directory).free
    except OSError as exc:
        return [
            Problem(
                key,
                Alert.Kind.FREE_SPACE,
                f"backups directory {directory} unusable",
                f"The backups directory {directory} cannot be read: {exc}",
            )
        ]
    threshold = alert_settings.min_free_mib * 1024 * 1024
    if free >= threshold:
        return []
    return [
        Problem(
            key,
            Alert.Kind.FREE_SPACE,
            f"only {human_size(free)} free for backups",
            f"The backups directory {directory} has {human_size(free)} free, below the alert threshold of "
            f"{human_size(threshold)}. Prune old backups (retention policy) or make room.",
        )
    ]


def expiring_problems(alert_settings: AlertSettings, now: dt.datetime) -> list[Problem]:
    """Identities that expire within the window and are not disabled; raises when Neo4j cannot be read."""
    days = alert_settings.expiring_within_days
    if not days:
        return []
    problems = []
    for kind in KINDS.values():
        rows = store.cypher(
            f"MATCH (n:{kind.label}) WHERE n.expires IS NOT NULL AND n.expires > $now AND "
            "n.expires <= $until AND coalesce(n.disabled, false) = false "
            "RETURN n.identifier, n.expires ORDER BY n.identifier",
            {"now": now, "until": now + dt.timedelta(days=days)},
        )
        for identifier, expires in rows:
            expires = expires.to_native() if hasattr(expires, "to_native") else expires
            problems.append(
                Problem(
                    f"expiring:{kind.name}:{identifier}",
                    Alert.Kind.EXPIRING,
                    f"{kind.name} identity {identifier} expires {expires:%Y-%m-%d %H:%M} UTC",
                    f"The {kind.name} identity {identifier!r} expires at {expires:%Y-%m-%d %H:%M} UTC (within {days} "
                    f"days). After that the portal disables it (identity lock-expired). Extend its expiry on its page "
                    f"if it should keep working.",
                )
            )
    return problems


def schedule_problems(now: dt.datetime) -> list[Problem]:
    """Beat tasks beat cannot schedule (and so skips): a backup schedule that never fires."""
    return [
        Problem(
            f"schedule:{task.pk}", Alert.Kind.SCHEDULE, f"schedule {task.name!r} cannot run", describe_broken(task, why)
        )
        for task, why in broken_tasks(now)
    ]


#: since when Neo4j has not answered the sweeps (in Django's cache, shared by beat and the workers)
NEO4J_DOWN_SINCE_KEY = "alchemiscale-portal:neo4j-down-since"


def neo4j_problems(now: dt.datetime, ask: Callable[[], object] = store.server_version) -> list[Problem]:
    """Neo4j not answering for longer than PORTAL_ALERT_NEO4J_DOWN_SECONDS, unless a run holds it stopped and its
    outage is still within its expected length (an overdue outage is an alert of its own). ``ask`` is the question
    put to it (the state store's version)."""
    try:
        ask()
    except Exception as exc:  # whatever stops the driver is the reason given
        since = dt.datetime.fromisoformat(str(cache.get_or_set(NEO4J_DOWN_SINCE_KEY, now.isoformat(), timeout=None)))
        down = (now - since).total_seconds()
        if down < settings.ALERT_NEO4J_DOWN_SECONDS:
            return []
        holding = [
            r
            for r in OperationRun.objects.filter(status=RunStatus.RUNNING)
            if r.state.get("outage_started") and not r.state.get("outage_ended")
        ]
        if holding and not any(o.what == "Neo4j's outage" for o in overdue.overdue(now)):
            return []
        return [
            Problem(
                "neo4j-down",
                Alert.Kind.NEO4J_DOWN,
                "Neo4j does not answer",
                f"The state store has not answered since {since:%Y-%m-%d %H:%M:%S} UTC ({human_seconds(down)}): "
                f"{mask_url(str(exc))[:300]}. No run holds it stopped. See the status page.",
            )
        ]
    cache.delete(NEO4J_DOWN_SINCE_KEY)
    return []


def overdue_problems(now: dt.datetime) -> list[Problem]:
    return [
        Problem(
            f"overdue:{o.run.pk}:{o.what}", Alert.Kind.OVERDUE, f"{o.run.kind} #{o.run.pk}: {o.what} overdue", o.words()
        )
        for o in overdue.overdue(now)
    ]


def _registered(
    kind: str, source: Callable[[dt.datetime], list[registries.Finding]], now: dt.datetime
) -> Callable[[], list[Problem]]:
    """The problems of an alert source another app registered (operations/registries.py)."""
    return lambda: [Problem(f.key, kind, f.subject, f.message) for f in source(now)]


#: what beat checks on its own, with no worker (a frozen worker cannot report itself)
WATCHDOG_KINDS = frozenset({Alert.Kind.NEO4J_DOWN, Alert.Kind.OVERDUE})


def current_problems(
    now: dt.datetime | None = None, only: frozenset[str] | None = None
) -> tuple[list[Problem], set[str]]:
    """(the problems now, the kinds that could be checked); ``only`` narrows the kinds checked."""
    now = now or timezone.now()
    alert_settings = AlertSettings.current()
    problems: list[Problem] = []
    checked: set[str] = set()
    for kind, check in (
        (Alert.Kind.RUN, run_problems),
        (Alert.Kind.STALE, lambda: stale_problems(now)),
        (Alert.Kind.FREE_SPACE, lambda: free_space_problems(alert_settings)),
        (Alert.Kind.EXPIRING, lambda: expiring_problems(alert_settings, now)),
        (Alert.Kind.SCHEDULE, lambda: schedule_problems(now)),
        (Alert.Kind.NEO4J_DOWN, lambda: neo4j_problems(now)),
        (Alert.Kind.OVERDUE, lambda: overdue_problems(now)),
        *((kind, _registered(kind, source, now)) for kind, source in registries.alert_sources().items()),
    ):
        if only is not None and kind not in only:
            continue
        try:
            problems += check()
        except Exception:
            logger.exception("alerts: the %s check could not be made; its alerts stay as they are", kind)
            continue
        checked.add(kind)
    return problems, checked


# -- telling staff ------------------------------------------------------------------------------------------------
def recipients(alert_settings: AlertSettings) -> list[str]:
    listed = [a.strip() for a in re.split(r"[,\s]+", alert_settings.recipients) if a.strip()]
    return list(dict.fromkeys(listed + list(settings.ALERT_EMAILS)))


def webhook_url(alert_settings: AlertSettings) -> str:
    return alert_settings.webhook_url or settings.ALERT_WEBHOOK_URL


def _send(subject: str, body: str, mark: str) -> list[dict]:
    """Send on every configured channel (e-mail, webhook); what each answered, one dict a channel."""
    alert_settings = AlertSettings.current()
    attempts = []
    to = recipients(alert_settings)
    if to:
        try:
            send_mail(SUBJECT_PREFIX + subject, body, settings.DEFAULT_FROM_EMAIL, to)
            attempts.append({"channel": "email", "to": ", ".join(to), "ok": True, "error": ""})
        except Exception as exc:
            attempts.append({"channel": "email", "to": ", ".join(to), "ok": False, "error": f"{exc}"})
    url = webhook_url(alert_settings)
    if url:
        try:
            webhooks.post(url, f"{mark} *{subject}*\n{body}")
            attempts.append({"channel": "webhook", "to": webhooks.masked(url), "ok": True, "error": ""})
        except (webhooks.WebhookRefused, webhooks.WebhookFailed) as exc:
            attempts.append({"channel": "webhook", "to": webhooks.masked(url), "ok": False, "error": f"{exc}"})
    return attempts


def deliver(alert: Alert, event: str) -> bool:
    """Send the opening or the resolution on every configured channel, recording each attempt on the alert; True
    when every channel took it (or none is configured)."""
    if event == "opened":
        subject, body = alert.subject, alert.message
    else:
        subject = f"resolved: {alert.subject}"
        body = f"{alert.resolved_message}\n\nThe problem was first reported at {alert.opened_at:%Y-%m-%d %H:%M} UTC."
    attempts = _send(subject, body, "✅" if event == "resolved" else "⚠️")
    if not attempts:
        attempts.append(
            {"channel": "none", "to": "", "ok": True, "error": "no recipients or webhook configured: recorded only"}
        )
    now = timezone.now()
    alert.deliveries = alert.deliveries + [{"at": now.isoformat(), "event": event, **a} for a in attempts]
    ok = all(a["ok"] for a in attempts)
    fields = ["deliveries"]
    if ok:
        if event == "opened":
            alert.notified_at, fields = now, fields + ["notified_at"]
        else:
            alert.resolved_notified_at, fields = now, fields + ["resolved_notified_at"]
    alert.save(update_fields=fields)
    return ok


def send_test() -> list[dict]:
    """A test message on every configured channel, now; what each channel answered (nothing is recorded as an
    alert). With no channel configured, says so: a fresh instance's first alert otherwise goes to nobody unseen."""
    body = f"A test from the alchemiscale portal at {timezone.now():%Y-%m-%d %H:%M:%S} UTC: alerts reach this channel."
    return _send("test alert", body, "🔔") or [
        {"channel": "none", "to": "", "ok": False, "error": "no recipient and no webhook: alerts reach nobody"}
    ]


def sweep(now: dt.datetime | None = None, only: frozenset[str] | None = None) -> dict[str, list[Alert]]:
    """Open alerts for new problems, resolve those that cleared, retry deliveries that failed (``only``: just these
    kinds, and no retries: beat's own watchdog sweep)."""
    now = now or timezone.now()
    problems, checked = current_problems(now, only)
    current = {p.key: p for p in problems}
    opened, resolved = [], []
    open_alerts = {a.key: a for a in Alert.objects.filter(resolved_at__isnull=True)}
    for key, problem in current.items():
        if key in open_alerts:
            continue
        try:
            with transaction.atomic():
                alert = Alert.objects.create(
                    key=key, kind=problem.kind, subject=problem.subject, message=problem.message, opened_at=now
                )
        except IntegrityError:
            continue  # another sweep opened it at the same moment
        deliver(alert, "opened")
        opened.append(alert)
    for key, alert in open_alerts.items():
        if key in current or alert.kind not in checked:
            continue
        if not Alert.objects.filter(pk=alert.pk, resolved_at__isnull=True).update(
            resolved_at=now,
            resolved_message=f"Resolved: {alert.subject} no longer applies (checked at {now:%Y-%m-%d %H:%M} UTC).",
        ):
            continue
        alert.refresh_from_db()
        deliver(alert, "resolved")
        resolved.append(alert)
    retried: list[Alert] = []
    if only is not None:
        return {"opened": opened, "resolved": resolved, "retried": retried}
    for alert in Alert.objects.filter(notified_at__isnull=True).exclude(pk__in=[a.pk for a in opened]):
        deliver(alert, "opened")
        retried.append(alert)
    for alert in Alert.objects.filter(resolved_at__isnull=False, resolved_notified_at__isnull=True).exclude(
        pk__in=[a.pk for a in resolved]
    ):
        deliver(alert, "resolved")
        retried.append(alert)
    return {"opened": opened, "resolved": resolved, "retried": retried}
