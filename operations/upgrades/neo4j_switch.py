"""What every store upgrade that changes the Neo4j version does alike: 4.4 to 5 (``neo4j_data.py``), 5.x to 5.26 and
5.26 to 2025 (``neo4j_forward.py``).

Each such upgrade records what the store holds while the old version is up, keeps the old version's data directory
untouched beside the live one (``<data>.neo4j-<old line>``), switches the target with ``Target.use_neo4j_version``,
starts the new version and compares what it holds with the record. On failure the new version's data directory is
moved aside, the old one put back, the target switched back and the old version started and counted. A worker that
dies after the old data was set aside or the target switched leaves the run interrupted, to be resumed or rolled
back from the upgrade page (``base.py``).

A subclass says which version it leaves (``from_label``), which it moves to (``new_version()``) and where the old
data directory waits (``aside_dir()``); it lists its own steps and uses the ones here by name.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, ClassVar

from django.utils import timezone

from operations.backups.procedures import dumps
from operations.humanize import human_size
from operations.runs.contract import OperationFailed, RunContext

from . import records, snapshot
from .base import MigrationProcedure


def check_args(database: str) -> list[str]:
    """``neo4j-admin`` (5.x and later) arguments of the consistency check."""
    return ["database", "check", database]


class Neo4jSwitchProcedure(MigrationProcedure):
    #: the version line the upgrade leaves, in the words of step names and messages ("4.4", "5.18")
    from_label: ClassVar[str]
    #: how many times the store's size the upgrade needs free (safety dump, loaded or copied store)
    disk_factor: ClassVar[int] = 1

    def new_version(self) -> str:
        """The release the upgrade moves to."""
        raise NotImplementedError

    def aside_dir(self) -> Path:
        """Where the old version's data directory waits (fixed, so previews can name it)."""
        data = self.target.data_dir
        return data.with_name(f"{data.name}.neo4j-{self.from_label}")

    # -- prechecks ------------------------------------------------------------------------------------------
    def check_aside_free(self) -> list[str]:
        if self.aside_dir().exists():
            return [
                f"{self.aside_dir()} exists (a {self.from_label} data directory set aside by an earlier attempt); "
                f"move it away after checking it is not needed"
            ]
        return []

    def check_free_disk(self) -> list[str]:
        target = self.target
        need = dumps._tree_size(target.database_dirs()) * self.disk_factor
        probe = target.backup_dir if target.backup_dir.exists() else target.backup_dir.parent
        free = shutil.disk_usage(probe).free
        if free < need:
            return [
                f"{probe} has {human_size(free)} free; the safety dump and the upgraded store need up to "
                f"{human_size(need)}"
            ]
        return []

    # -- steps --------------------------------------------------------------------------------------------------
    def record_before(self, ctx: RunContext) -> str:
        target = self.target
        if not target.is_up():
            raise OperationFailed(
                f"Neo4j {self.from_label} is not running: start it so the upgrade can record what the store "
                f"holds and verify the upgraded store against it"
            )
        target.wait_for_bolt()
        before = snapshot.take(target)
        ctx.remember(
            was_running=True,
            neo4j_version=target.neo4j_version(),
            nodes=before["nodes"],
            relationships=before["relationships"],
            before=before,
        )
        return (
            f"Neo4j {target.neo4j_version()}: {before['nodes']} nodes, {before['relationships']} relationships; "
            f"{len(before['sample'])} nodes sampled"
        )

    def switch_to_new(self, ctx: RunContext) -> str:
        ctx.remember(switched=True)
        return self.target.use_neo4j_version(self.new_version())

    def consistency_check(self, ctx: RunContext) -> str:
        ctx.admin(check_args(self.target.connection.database), "the store failed the consistency check")
        return f"consistent (checked with Neo4j {self.target.neo4j_version()})"

    def start_new(self, ctx: RunContext) -> str:
        self.target.start()
        return f"Neo4j {self.target.neo4j_version()} is up and answers over Bolt"

    def verify(self, ctx: RunContext) -> str:
        after = snapshot.take(self.target)
        ctx.remember(after_counts=[after["nodes"], after["relationships"]])
        problems = snapshot.differences(ctx.state["before"], after)
        if problems:
            raise OperationFailed(
                f"the upgraded store differs from the {self.from_label} store: " + "; ".join(problems[:10])
            )
        return (
            f"{after['nodes']} nodes and {after['relationships']} relationships, as in {self.from_label}; "
            f"{len(after['sample'])} sampled nodes identical"
        )

    def tidy_up(self) -> None:
        """What a successful run removes before it is recorded (nothing by default)."""

    def applied_details(self, ctx: RunContext) -> dict[str, Any]:
        return {
            "nodes": ctx.state["nodes"],
            "relationships": ctx.state["relationships"],
            "safety_backup": ctx.state.get("file_name"),
            "set_aside": ctx.state.get("aside"),
        }

    def record_applied(self, ctx: RunContext) -> str:
        self.tidy_up()
        record = records.record(
            ctx,
            self.migration_name,
            "applied",
            neo4j_before=ctx.state["neo4j_version"],
            neo4j_after=self.target.neo4j_version(),
            details=self.applied_details(ctx),
        )
        follow_up = self.target.version_follow_up(self.new_version())
        return (
            f"recorded as applied (#{record.pk}). The {self.from_label} data directory is kept at "
            f"{ctx.state.get('aside')} and the safety dump at {self.target.backup_dir / ctx.state['file_name']}; "
            f"remove them when the new store has proved itself" + (f". To do: {follow_up}" if follow_up else "")
        )

    # -- failure / roll back --------------------------------------------------------------------------------------
    def put_back(self, ctx: RunContext) -> str:
        target, done = self.target, []
        aside = ctx.state.get("aside")
        new = self.new_version()
        if aside and Path(aside).exists():
            if target.is_up():
                target.stop()
                done.append(f"Neo4j {target.neo4j_version()} stopped")
            failed = target.data_dir.with_name(f"{target.data_dir.name}.failed-{new}-{timezone.now():%Y%m%d-%H%M%S}")
            if target.data_dir.exists():
                target.data_dir.rename(failed)
                done.append(f"the {new} data directory moved to {failed}")
            Path(aside).rename(target.data_dir)
            ctx.remember(aside=None)
            done.append(f"{aside} moved back to {target.data_dir}")
        if ctx.state.get("switched"):
            if target.is_up():
                target.stop()
                done.append(f"Neo4j {target.neo4j_version()} stopped")
            done.append(f"switched back: {target.use_neo4j_version(ctx.state['neo4j_version'])}")
            ctx.remember(switched=False)
        return "; ".join(done) or "nothing had been changed on disk"

    def start_old_again(self, ctx: RunContext) -> str:
        if not ctx.state.get("was_running"):
            return f"Neo4j {self.from_label} was not running before; left stopped"
        target = self.target
        target.start()
        nodes, rels = target.counts()
        if (nodes, rels) != (ctx.state["nodes"], ctx.state["relationships"]):
            raise OperationFailed(
                f"Neo4j {self.from_label} is up again but holds {nodes} nodes and {rels} relationships, not "
                f"{ctx.state['nodes']} and {ctx.state['relationships']}; restore the safety dump"
            )
        return f"Neo4j {target.neo4j_version()} is up with its {nodes} nodes and {rels} relationships"

    def record_failed(self, ctx: RunContext) -> str:
        failed = [s.name for s in ctx.run.steps.filter(status="failed")]
        return self.record_outcome_of_failure(ctx, {"failed_steps": failed})

    def recover(self, ctx: RunContext) -> list[str]:
        """The worker died mid-run. Before the data was set aside, the old version is simply started again; after,
        nothing is moved behind staff's back: the run is recorded as interrupted, to be resumed or rolled back."""
        if not ctx.state.get("aside") and not ctx.state.get("switched"):
            return dumps.clear_in_progress(ctx) + super().recover(ctx)
        # An orphaned neo4j-admin (load, migrate, check) must not go on writing behind staff's back.
        done = self.target.stop_admin()
        records.record(
            ctx,
            self.migration_name,
            "interrupted",
            neo4j_before=ctx.state.get("neo4j_version", ""),
            neo4j_after=self.target.neo4j_version(),
            details={"set_aside": ctx.state.get("aside")},
        )
        return done + [
            f"left as it was ({self.from_label} data at {ctx.state.get('aside')}); resume or roll back from the "
            f"upgrade page"
        ]
