"""Writing and reading the applied-migrations record (``operations.models.AppliedMigration``)."""

from __future__ import annotations

from typing import Any

from operations.runs.contract import RunContext

from ..models import AppliedMigration


def record(
    ctx: RunContext,
    name: str,
    outcome: str,
    *,
    neo4j_before: str = "",
    neo4j_after: str = "",
    details: dict[str, Any] | None = None,
) -> AppliedMigration:
    run = ctx.run
    return AppliedMigration.objects.create(
        name=name,
        target=run.target,
        outcome=outcome,
        by=run.requested_by,
        by_label=run.requested_by_label,
        run=run,
        neo4j_before=neo4j_before,
        neo4j_after=neo4j_after,
        details=details or {},
    )


def applied(name: str, target: str) -> AppliedMigration | None:
    return AppliedMigration.objects.filter(name=name, target=target, outcome="applied").first()


def history(target: str) -> list[AppliedMigration]:
    return list(AppliedMigration.objects.filter(target=target).select_related("run")[:50])
