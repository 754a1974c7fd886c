"""The numbers behind the dashboard and /metrics, each computed in one place (docs/dashboard.md, docs/metrics.md).

Portal rows (runs, backups) come from Django's database with aggregate queries; identity counts come from Neo4j with
one aggregate statement per question, never by loading nodes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Max, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone

from identities import store
from identities.inventory import data_scopes
from identities.nodes import KINDS
from operations.models import Backup, OperationRun, OperationStep, RunStatus
from operations.runs.roll_call import worker_queues

EXPIRY_WINDOW_DAYS = 30
TOP_ORGS = 10
# The steps between which a backup run keeps Neo4j down (operations/backups/procedures/dumps.py, backup.py).
STOP_STEP, START_STEP = "stop Neo4j", "start Neo4j"


# ---- backups ----------------------------------------------------------------------------------------------------


@dataclass
class BackupTotals:
    count: dict[str, int]
    size: dict[str, int]
    newest: dt.datetime | None


def backup_totals() -> BackupTotals:
    """Count and bytes per purpose, and when the newest catalogued backup was made (only complete dumps that were
    checksummed are catalogued, so each one is a good backup)."""
    rows = Backup.objects.values("purpose").annotate(n=Count("id"), size=Sum("size"), newest=Max("created_at"))
    count = {purpose: 0 for purpose in Backup.Purpose.values}
    size = {purpose: 0 for purpose in Backup.Purpose.values}
    newest = None
    for row in rows:
        count[row["purpose"]], size[row["purpose"]] = row["n"], row["size"] or 0
        newest = max(filter(None, [newest, row["newest"]]), default=None)
    return BackupTotals(count, size, newest)


@dataclass
class BackupPoint:
    at: dt.datetime
    file_name: str
    size: int
    duration: float | None  # seconds the backup run took
    outage: float | None  # seconds Neo4j was down: stop step's start to start step's end, when this run stopped it


def backup_timeline(limit: int = 200) -> list[BackupPoint]:
    """The newest ``limit`` requested backups, oldest first."""
    backups = list(
        Backup.objects.filter(purpose=Backup.Purpose.REQUESTED)
        .select_related("made_by_run")
        .order_by("-created_at")[:limit]
    )
    run_ids = [b.made_by_run_id for b in backups if b.made_by_run_id]
    steps = {
        (s["run_id"], s["name"]): s
        for s in OperationStep.objects.filter(run_id__in=run_ids, name__in=[STOP_STEP, START_STEP]).values(
            "run_id", "name", "started_at", "finished_at"
        )
    }
    points = []
    for backup in reversed(backups):
        run = backup.made_by_run
        duration = outage = None
        if run is not None and run.started_at and run.finished_at:
            duration = (run.finished_at - run.started_at).total_seconds()
            stop, start = steps.get((run.pk, STOP_STEP)), steps.get((run.pk, START_STEP))
            # Only when this run itself stopped Neo4j (it leaves a stopped server alone): else there was no outage.
            if run.state.get("stopped") and stop and start and stop["started_at"] and start["finished_at"]:
                outage = (start["finished_at"] - stop["started_at"]).total_seconds()
        points.append(BackupPoint(backup.created_at, backup.file_name, backup.size, duration, outage))
    return points


# ---- runs -------------------------------------------------------------------------------------------------------


def runs_by_kind_and_status() -> dict[tuple[str, str], int]:
    return {
        (row["kind"], row["status"]): row["n"]
        for row in OperationRun.objects.values("kind", "status").annotate(n=Count("id"))
    }


@dataclass
class LastRun:
    kind: str
    status: str
    finished_at: dt.datetime
    duration: float | None


def last_finished_runs() -> list[LastRun]:
    """Per kind, the run that ended last."""
    newest = OperationRun.objects.filter(finished_at__isnull=False).values("kind").annotate(at=Max("finished_at"))
    runs = []
    for row in newest:
        run = OperationRun.objects.filter(kind=row["kind"], finished_at=row["at"]).order_by("-pk").first()
        if run is None or run.finished_at is None:  # deleted in between
            continue
        duration = (run.finished_at - run.started_at).total_seconds() if run.started_at else None
        runs.append(LastRun(run.kind, run.status, run.finished_at, duration))
    return sorted(runs, key=lambda r: r.kind)


def runs_per_week(weeks: int = 12, now: dt.datetime | None = None) -> tuple[list[dt.date], dict[str, list[int]]]:
    """The last ``weeks`` ISO weeks (Mondays) and, per outcome, how many runs requested in each."""
    now = now or timezone.now()
    monday = (now - dt.timedelta(days=now.weekday())).date()
    starts = [monday - dt.timedelta(weeks=i) for i in reversed(range(weeks))]
    since = dt.datetime.combine(starts[0], dt.time(), tzinfo=dt.UTC)
    rows = (
        OperationRun.objects.filter(requested_at__gte=since)
        .annotate(week=TruncWeek("requested_at"))
        .values("week", "status")
        .annotate(n=Count("id"))
    )
    series = {status: [0] * weeks for status in RunStatus.values}
    index = {start: i for i, start in enumerate(starts)}
    for row in rows:
        week = row["week"].date() if isinstance(row["week"], dt.datetime) else row["week"]
        if week in index:
            series[row["status"]][index[week]] += row["n"]
    return starts, series


# ---- identities -------------------------------------------------------------------------------------------------


@dataclass
class IdentityCounts:
    kind: str
    active: int = 0
    disabled: int = 0
    expired: int = 0  # not disabled, expiry passed (alchemiscale still lets them in until lock-expired runs)
    expiring: int = 0  # active, expiring within EXPIRY_WINDOW_DAYS
    expiring_by_day: list[int] = field(default_factory=list)


def identity_counts(now: dt.datetime | None = None) -> list[IdentityCounts]:
    now = now or timezone.now()
    result = []
    for kind in KINDS.values():
        counts = IdentityCounts(kind.name, expiring_by_day=[0] * EXPIRY_WINDOW_DAYS)
        # Label names come from the constants in identities.nodes; values are parameters.
        rows = store.cypher(
            f"MATCH (n:{kind.label}) WITH coalesce(n.disabled, false) AS disabled, n.expires AS expires "
            "RETURN disabled, expires IS NOT NULL AND expires <= $now AS expired, "
            "CASE WHEN expires > $now AND expires <= $until THEN duration.inDays($now, expires).days END AS day, "
            "count(*)",
            {"now": now, "until": now + dt.timedelta(days=EXPIRY_WINDOW_DAYS)},
        )
        for disabled, expired, day, n in rows:
            if disabled:
                counts.disabled += n
            elif expired:
                counts.expired += n
            else:
                counts.active += n
                if day is not None:
                    counts.expiring += n
                    counts.expiring_by_day[min(day, EXPIRY_WINDOW_DAYS - 1)] += n
        result.append(counts)
    return result


def identities_reaching_orgs(limit: int = TOP_ORGS) -> list[tuple[str, int]]:
    """The orgs the most identities can reach, with how many: through a scope of that org, or ``*-*-*``.

    An org counts when it is in a granted scope or in alchemiscale's data (the data scopes are read from a cached
    copy, refreshed every minute: identities.inventory).
    """
    # '*' stands for *-*-*; an org part is never '*' otherwise in a valid scope (invalid ones are left out).
    rows = store.cypher(
        "MATCH (n:CredentialedEntity) WHERE n:CredentialedUserIdentity OR n:CredentialedComputeIdentity "
        "UNWIND coalesce(n.scopes, []) AS s "
        "WITH n, CASE WHEN s = '*-*-*' THEN '*' ELSE split(s, '-')[0] END AS org WHERE org <> '' "
        "RETURN org, count(DISTINCT n)"
    )
    per_org = dict((org, n) for org, n in rows)
    everywhere = per_org.pop("*", 0)
    orgs = set(per_org) | {scope.split("-", 1)[0] for scope in data_scopes()}
    orgs.discard("*")
    # An identity holding both acme-x-y and *-*-* reaches acme once: subtract those counted twice.
    twice: dict[str, int] = {}
    if everywhere:
        twice = dict(
            (org, n)
            for org, n in store.cypher(
                "MATCH (n:CredentialedEntity) WHERE (n:CredentialedUserIdentity OR n:CredentialedComputeIdentity) "
                "AND '*-*-*' IN n.scopes UNWIND n.scopes AS s WITH n, split(s, '-')[0] AS org WHERE org <> '*' "
                "RETURN org, count(DISTINCT n)"
            )
        )
    reached = [(org, per_org.get(org, 0) + everywhere - twice.get(org, 0)) for org in orgs]
    reached.sort(key=lambda item: (-item[1], item[0]))
    return reached[:limit]


# ---- workers ----------------------------------------------------------------------------------------------------


def alive_workers() -> list[str] | None:
    """Names of the Celery workers answering within 1 s (roll_call.worker_queues, which waits no longer than the
    workers on its roll call take); None when the broker cannot be asked (reported as "unknown")."""
    workers = worker_queues()
    return None if workers is None else sorted(workers)
