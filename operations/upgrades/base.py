"""What the store migrations share: prechecks, the refusal to run twice, resuming and rolling back a run.

A migration run is an ordinary operation run (``operations/runs/engine.py``): one at a time per target, steps recorded
as they go, failure steps after a failure, interrupted runs recovered when a worker starts. On top of that:

* ``validate()`` refuses a request whose prechecks fail or whose migration is already recorded as applied;
* a run interrupted between steps (its worker died) can be *resumed*: a new run with ``params["resume_of"]``
  takes over the old run's recorded state and passes over the steps the old run completed;
* or *rolled back*: a new run with ``params["rollback_of"]`` runs only the migration's roll-back steps on the
  old run's state.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from operations.checks import Check
from operations.runs.contract import OperationFailed, Procedure, RunContext, Step

from ..models import OperationRun, RunStatus, StepStatus
from . import records


class MigrationProcedure(Procedure):
    permission = "operations.run_store_migration"
    destructive = True
    changes_store = True
    migration_name: ClassVar[str]

    @classmethod
    def target_release(cls) -> str:
        """The Neo4j release the migration moves to (empty when it does not change Neo4j)."""
        return ""

    # -- prechecks ------------------------------------------------------------------------------------------
    def check_versions(self) -> list[str]:
        """Problems with the versions (empty when the migration applies to the store as it is)."""
        return []

    def check_free_disk(self) -> list[str]:
        return []

    def check_new_version(self) -> list[str]:
        """Problems with what the migration switches to (e.g. the new Neo4j's image is missing)."""
        return []

    def check_target_up(self) -> list[str]:
        if not self.target.is_up():
            return [f"Neo4j is not running ({self.target.describe()}); start it first"]
        try:
            self.target.wait_for_bolt(timeout=10)
        except Exception as exc:
            return [str(exc)]
        return []

    def check_not_applied(self) -> list[str]:
        done = records.applied(self.migration_name, self.target.name)
        if done is None:
            return []
        return [
            f"{self.migration_name} is already applied to target {self.target.name!r}: "
            f"{done.at:%Y-%m-%d %H:%M} UTC by {done.by_label} (run #{done.run_id})"
        ]

    def prechecks(self) -> list[Check]:
        checks = []
        for name, fn in (
            ("not applied yet", self.check_not_applied),
            ("versions", self.check_versions),
            ("new version at hand", self.check_new_version),
            ("target up", self.check_target_up),
            ("free disk", self.check_free_disk),
        ):
            problems = fn()
            checks.append(Check(name, not problems, "; ".join(problems) or "ok"))
        return checks

    # -- resume and roll back ------------------------------------------------------------------------------------
    @property
    def resumed_run(self) -> OperationRun | None:
        ref = self.params.get("resume_of") or self.params.get("rollback_of")
        return OperationRun.objects.filter(pk=ref).first() if ref else None

    def validate(self) -> None:
        previous = self.resumed_run
        if previous is not None:
            if previous.kind != self.kind or previous.status != RunStatus.INTERRUPTED:
                raise OperationFailed(
                    f"run #{previous.pk} is a {previous.kind} run that is {previous.status}; only "
                    f"an interrupted {self.kind} run can be resumed or rolled back"
                )
            if OperationRun.objects.filter(kind=self.kind, target=previous.target, pk__gt=previous.pk).exists():
                raise OperationFailed(f"run #{previous.pk} was already followed by another {self.kind} run")
            return
        problems = [c for c in self.prechecks() if not c.ok]
        if problems:
            raise OperationFailed("; ".join(f"{c.name}: {c.detail}" for c in problems))

    def check_step(self, ctx: RunContext) -> str:
        """First step of every run: check again in the worker (things change between request and run)."""
        previous = self.resumed_run
        if previous is not None:
            ctx.remember(**{k: v for k, v in previous.state.items()})
            ctx.remember(taken_over_from=previous.pk)
            done = self.params.get("completed", [])
            return f"took over run #{previous.pk}'s state; {len(done)} step(s) done there: {', '.join(done)}"
        problems = self.check_not_applied() + self.check_versions() + self.check_new_version()
        if problems:
            raise OperationFailed("; ".join(problems))
        return "the migration applies and is not yet applied"

    def record_outcome_of_failure(self, ctx: RunContext, details: dict[str, Any]) -> str:
        """The failure steps' record: ``rolled-back`` for a roll-back run, else ``failed``."""
        outcome = "rolled-back" if self.params.get("rollback_of") else "failed"
        record = records.record(
            ctx,
            self.migration_name,
            outcome,
            neo4j_before=ctx.state.get("neo4j_version", ""),
            neo4j_after=self.target.neo4j_version(),
            details=details,
        )
        return f"recorded as {outcome} (#{record.pk})"

    def rollback_steps(self) -> list[Step]:
        """The steps that undo an interrupted run (by default: its failure steps)."""
        return [dataclasses.replace(s, when="ok") for s in self.steps_for_run() if s.when == "failure"]

    def steps_for_run(self) -> list[Step]:
        raise NotImplementedError

    def steps(self) -> list[Step]:
        steps = self.steps_for_run()
        if self.params.get("rollback_of"):
            return [steps[0], *self.rollback_steps()]
        done = set(self.params.get("completed", []))
        if not done:
            return steps
        ref = self.params.get("resume_of")
        passed = [
            dataclasses.replace(s, run=_done_in(ref), description=f"done in run #{ref}: {s.description}")
            if s.when == "ok" and s.name in done and i > 0
            else s
            for i, s in enumerate(steps)
        ]
        return passed


def _done_in(ref: Any):
    return lambda ctx: f"already done in run #{ref}"


def completed_steps(run: OperationRun) -> list[str]:
    return [s.name for s in run.steps.filter(status=StepStatus.OK).order_by("position")]
