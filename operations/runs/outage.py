"""Where a run's outage stands: when a step stopped Neo4j and when it answered again, and how long the last ones
took.

A step that stops Neo4j calls :func:`began`, the step that has it answering again :func:`ended`; both are facts in
the run's durable state (``outage_started``, ``outage_ended``; the end is kept in memory and recorded with the run's
end when the portal's database refuses writes meanwhile). The "state store unavailable" page
(``unavailable.py``) and the procedures' previews read them back through :func:`expected_outage`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils import timezone

from ..models import OperationRun, RunStatus

if TYPE_CHECKING:
    from .contract import RunContext


def began(ctx: RunContext) -> None:
    ctx.remember(outage_started=timezone.now().isoformat(), outage_ended=None)


def ended(ctx: RunContext) -> None:
    # Neo4j is already back: a database that refuses this write must not make the start look failed.
    if ctx.state.get("outage_started") and not ctx.state.get("outage_ended"):
        ctx.note(outage_ended=timezone.now().isoformat())


def expected_outage(target: str, kind: str) -> float | None:
    """Seconds Neo4j was unavailable in the last successful ``kind`` run on the target (None: no such run)."""
    for run in OperationRun.objects.filter(target=target, kind=kind, status=RunStatus.SUCCEEDED).order_by(
        "-finished_at"
    )[:5]:
        seconds = outage_seconds(run)
        if seconds is not None:
            return seconds
    return None


def expected_duration(target: str, kind: str) -> float | None:
    """Seconds the last successful ``kind`` run on the target took from start to end (None: no such run)."""
    run = (
        OperationRun.objects.filter(target=target, kind=kind, status=RunStatus.SUCCEEDED, started_at__isnull=False)
        .order_by("-finished_at")
        .first()
    )
    return run.elapsed_seconds() if run is not None else None


def outage_seconds(run: OperationRun) -> float | None:
    """How long Neo4j was unavailable in ``run``; None while it still is, or when the run never stopped it."""
    window = run.outage_window()
    if window is None or window[1] is None:
        return None
    return (window[1] - window[0]).total_seconds()
