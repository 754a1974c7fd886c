"""Run and backup rows as the runner and the backup procedure leave them, for the dashboard and metrics tests."""

from __future__ import annotations

import datetime as dt

from operations.models import Backup, OperationRun, OperationStep

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)  # a Monday


def finished_backup(at: dt.datetime, *, size: int, seconds: float, outage: float | None, n: int) -> Backup:
    """A succeeded backup run with its stop/start steps (outage None: Neo4j was not running, so none) and its file."""
    run = OperationRun.objects.create(
        kind="backup",
        target="local",
        status="succeeded",
        requested_by_label="test",
        requested_at=at,
        started_at=at,
        finished_at=at + dt.timedelta(seconds=seconds),
        state={"stopped": True} if outage is not None else {},
    )
    stop_at = at + dt.timedelta(seconds=1)
    OperationStep.objects.create(
        run=run,
        position=3,
        name="stop Neo4j",
        status="ok",
        started_at=stop_at,
        finished_at=stop_at + dt.timedelta(seconds=1),
    )
    start_end = stop_at + dt.timedelta(seconds=outage or 2)
    OperationStep.objects.create(
        run=run,
        position=5,
        name="start Neo4j",
        status="ok",
        started_at=start_end - dt.timedelta(seconds=1),
        finished_at=start_end,
    )
    return Backup.objects.create(
        file_name=f"neo4j-20261102-0900{n:02d}.dump",
        target="local",
        database="neo4j",
        size=size,
        sha256="0" * 64,
        neo4j_version="5.26.12",
        made_by_run=run,
        created_at=at + dt.timedelta(seconds=seconds),
        requested_by_label="test",
    )


def ended_run(kind: str, status: str, at: dt.datetime, seconds: float = 10) -> OperationRun:
    return OperationRun.objects.create(
        kind=kind,
        target="local",
        status=status,
        requested_by_label="test",
        requested_at=at,
        started_at=at,
        finished_at=at + dt.timedelta(seconds=seconds),
    )
