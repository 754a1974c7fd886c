"""Runs that take far longer than they should: a step, or Neo4j's outage, past what the last good runs of the same
kind took times PORTAL_OVERDUE_FACTOR (never less than PORTAL_OVERDUE_MIN_SECONDS).

A worker frozen mid-step (SIGSTOP, a hung neo4j-admin, a disk that stopped answering) leaves its run "running" and
Neo4j possibly down with nothing else to notice it: the status page shows this as a red line, and the alerts sweep
(which beat also runs on its own, without a worker: operations/unattended/beat.py) opens an alert.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics

from django.conf import settings
from django.utils import timezone

from ..checks import Check
from ..humanize import human_seconds
from ..models import OperationRun, OperationStep, RunStatus, StepStatus
from .outage import expected_outage

#: how many past successful runs of a kind the expected step length is taken from
HISTORY = 5


@dataclasses.dataclass(frozen=True)
class Overdue:
    run: OperationRun
    what: str  # "step 3 of 12 (dump)" or "Neo4j's outage"
    elapsed: float
    expected: float | None  # None: no earlier run to go by, only the minimum applies
    limit: float

    def words(self) -> str:
        basis = (
            f"the last good runs took about {human_seconds(self.expected)}"
            if self.expected is not None
            else "no earlier run to go by"
        )
        return (
            f"{self.run.kind} #{self.run.pk} on {self.run.target}: {self.what} has taken {human_seconds(self.elapsed)}, "
            f"over its limit of {human_seconds(self.limit)} ({basis}; worker {self.run.worker or 'unknown'})"
        )


def expected_step(run: OperationRun, name: str) -> float | None:
    """Seconds the step ``name`` took in the last successful runs of ``run``'s kind on its target (the median)."""
    done = OperationStep.objects.filter(
        run__kind=run.kind,
        run__target=run.target,
        run__status=RunStatus.SUCCEEDED,
        name=name,
        status=StepStatus.OK,
        started_at__isnull=False,
        finished_at__isnull=False,
    ).order_by("-run__finished_at")[:HISTORY]
    seconds = [(s.finished_at - s.started_at).total_seconds() for s in done if s.finished_at and s.started_at]
    return statistics.median(seconds) if seconds else None


def _limit(expected: float | None) -> float:
    floor = float(settings.OVERDUE_MIN_SECONDS)
    return floor if expected is None else max(floor, expected * settings.OVERDUE_FACTOR)


def overdue(now: dt.datetime | None = None) -> list[Overdue]:
    """Every running run's step, and outage, that is past its limit."""
    now = now or timezone.now()
    found = []
    for run in OperationRun.objects.filter(status=RunStatus.RUNNING).prefetch_related("steps"):
        steps = list(run.steps.all())
        current = next((s for s in steps if s.status == StepStatus.RUNNING and s.started_at), None)
        if current is not None and current.started_at is not None:
            elapsed = (now - current.started_at).total_seconds()
            expected = expected_step(run, current.name)
            if elapsed > _limit(expected):
                what = f"step {current.position} of {len(steps)} ({current.name})"
                found.append(Overdue(run, what, elapsed, expected, _limit(expected)))
        started, ended = run.state.get("outage_started"), run.state.get("outage_ended")
        if started and not ended:
            elapsed = (now - dt.datetime.fromisoformat(started)).total_seconds()
            expected = expected_outage(run.target, run.kind)
            if elapsed > _limit(expected):
                found.append(Overdue(run, "Neo4j's outage", elapsed, expected, _limit(expected)))
    return found


def check_runs() -> Check:
    """The status page's line: red while a run is past its limit."""
    late = overdue()
    if late:
        return Check("Operation runs", False, "; ".join(o.words() for o in late))
    running = OperationRun.objects.filter(status=RunStatus.RUNNING).count()
    return Check(
        "Operation runs", True, f"{running} running, none past its expected length" if running else "none running"
    )
