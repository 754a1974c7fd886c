"""Neo4j forward: a 5.x store to 5.26 LTS, then 5.26 to a 2025.x release (docs/upgrades.md "Neo4j forward").

Neo4j's maintainers say every upgrade from before 5.26 passes through 5.26 LTS, and 2025.x needs Java 21 or newer.
Both are in-place upgrades: the new version opens the old version's store and upgrades it as it starts, so the
store is neither dumped and loaded nor migrated by neo4j-admin. Made safe:

1. prechecks before anything stops: the store's version is on the step's range, the step is not applied yet, the
   new version is at hand (local: the switch command; Docker: its image), the Java the installation would run is
   new enough, the disk has room for the safety dump and a copy of the store;
2. what the store holds is recorded while the old version is up; it is stopped and checked with the old version's
   ``neo4j-admin database check``; a safety dump is written and catalogued;
3. the old data directory is kept untouched as ``<data>.neo4j-<old line>``; the new version runs on a copy of it
   (``cp --reflink=auto``: shared blocks where the file system can), because once the new version has started on
   a store the old one may no longer open it;
4. the target switches (``Target.use_neo4j_version``: the local target's ``PORTAL_NEO4J_SWITCH_COMMAND``, the Docker
   target's container re-created on the new image), the new version's ``database check`` runs on the store, the new
   version starts and must hold what the old one held.

Any failure after the copy puts the old data directory back, switches back and starts the old version, which must
hold what it held (``neo4j_switch.py``). Which release each step moves to is a setting: PORTAL_NEO4J_LTS_VERSION
(default 5.26.12) and PORTAL_NEO4J_2025_VERSION (default 2025.12.1).
"""

from __future__ import annotations

import subprocess
from typing import ClassVar

from django.conf import settings

from operations.backups.procedures import dumps
from operations.runs.contract import OperationFailed, RunContext, Step

from ..models import Backup
from . import snapshot, versions
from .neo4j_switch import Neo4jSwitchProcedure, check_args


class Neo4jForwardProcedure(Neo4jSwitchProcedure):
    """An in-place upgrade from the versions in [``lowest``, ``below``) to the release ``setting`` names."""

    lowest: ClassVar[str]
    below: ClassVar[str]
    setting: ClassVar[str]
    # The safety dump and a full copy of the store, beside the store itself.
    disk_factor = 2

    @classmethod
    def target_release(cls) -> str:
        return getattr(settings, cls.setting)

    def new_version(self) -> str:
        return self.target_release()

    # -- prechecks ------------------------------------------------------------------------------------------
    def check_versions(self) -> list[str]:
        version = self.target.neo4j_version()
        if not versions.in_range(version, self.lowest, self.below):
            return [
                f"the store runs Neo4j {version}; this upgrade applies from {self.lowest} up to, not including, "
                f"{self.below}"
            ]
        return self.check_aside_free()

    def check_new_version(self) -> list[str]:
        return self.target.check_neo4j_version(self.new_version()) + self.target.check_java(self.new_version())

    # -- steps --------------------------------------------------------------------------------------------------
    def steps_for_run(self) -> list[Step]:
        t, db = self.target, self.target.connection.database
        old, new = self.from_label, self.new_version()
        aside = self.aside_dir()
        return [
            Step(
                "check the upgrade applies",
                self.check_step,
                f"the store runs Neo4j {self.lowest} or later below {self.below}, the upgrade is not recorded as "
                f"applied, nothing is set aside, Neo4j {new} and its Java are at hand",
            ),
            Step(
                "check the backups directory",
                dumps.check_backup_dir,
                f"{t.backup_dir} exists, is writable and has room for the safety dump",
            ),
            Step(
                f"record the {old} store",
                self.record_before,
                f"while Neo4j is up: node and relationship counts, counts per label and type, and up to "
                f"{snapshot.SAMPLE_SIZE} nodes' properties, to compare with afterwards",
            ),
            Step(f"stop Neo4j {old}", dumps.stop, "the check, the dump and the copy need it stopped"),
            Step(
                f"consistency check with Neo4j {old}",
                self.consistency_check,
                "the store must be consistent before it is upgraded",
                commands=[t.admin_command(check_args(db))],
            ),
            Step(
                f"safety dump with Neo4j {old}",
                dumps.dump,
                f"to {dumps.in_progress_dir(t)}/{db}.dump (a temporary name)",
                commands=[t.admin_command(dumps.dump_args(t))],
            ),
            Step(
                "name and catalog the safety dump",
                self.name_safety_dump,
                f"neo4j-<UTC date-time>.dump in {t.backup_dir}, catalogued as a safety copy",
            ),
            Step(
                f"keep the {old} data directory",
                self.keep_old_data,
                f"move {t.data_dir} to {aside} (kept until someone removes it); {new} runs on a copy of it",
                commands=[copy_command(aside, t.data_dir)],
            ),
            Step(f"switch to Neo4j {new}", self.switch_to_new, t.switch_description(new)),
            Step(
                f"consistency check with Neo4j {new}",
                self.consistency_check,
                f"the store as Neo4j {new} reads it, before it starts",
                commands=[t.admin_command_for(new, check_args(db))],
            ),
            Step(f"start Neo4j {new}", self.start_new, "start and wait until Bolt answers; it upgrades the store"),
            Step(
                f"verify against the {old} store",
                self.verify,
                "counts, counts per label and type, and the sampled nodes' labels and properties must be equal",
            ),
            Step("record the upgrade", self.record_applied, "the applied-migrations record"),
            Step(
                f"put the {old} data back",
                self.put_back,
                f"after a failure: {new}'s data directory moved aside, {aside} back in place, switched back to "
                f"{old} (the same way)",
                when="failure",
            ),
            Step(
                f"start Neo4j {old} again",
                self.start_old_again,
                f"after a failure: start {old} if it was running and check it holds what it held",
                when="failure",
            ),
            Step("record the failed attempt", self.record_failed, "the applied-migrations record", when="failure"),
        ]

    def name_safety_dump(self, ctx: RunContext) -> str:
        named = dumps.final_name(ctx)
        backup = dumps.catalog(ctx, Backup.Purpose.SAFETY)
        return f"{named}; catalogued as backup #{backup.pk} (sha256 {backup.sha256})"

    def keep_old_data(self, ctx: RunContext) -> str:
        target = self.target
        data, aside = target.data_dir, self.aside_dir()
        dumps.ensure_still_stopped(ctx, "the copy of the store")
        # Remembered first: a worker dying between the two must still leave a run that knows where to look.
        ctx.remember(aside=str(aside))
        data.rename(aside)
        command = copy_command(aside, data)
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode != 0:
            raise OperationFailed(f"copying {aside} to {data} failed: {proc.stderr.strip()[-500:]}")
        owned = target.fix_ownership([data])
        return f"{data} -> {aside}; copied back to {data} ({owned})"


def copy_command(source, dest) -> list[str]:
    """The copy the new version runs on: owners, modes and times kept, blocks shared where the file system can."""
    return ["cp", "-a", "--reflink=auto", str(source), str(dest)]


class Neo4j5To526Procedure(Neo4jForwardProcedure):
    kind = "neo4j-5.18-to-5.26"
    title = "Upgrade the state store from Neo4j 5.18 (or any 5.x before 5.26) to 5.26 LTS"
    migration_name = "neo4j-5.18-to-5.26"
    from_label = "5.x"
    lowest, below, setting = "5", "5.26", "NEO4J_LTS_VERSION"


class Neo4j526To2025Procedure(Neo4jForwardProcedure):
    kind = "neo4j-5.26-to-2025"
    title = "Upgrade the state store from Neo4j 5.26 LTS to 2025.x"
    migration_name = "neo4j-5.26-to-2025"
    from_label = "5.26"
    lowest, below, setting = "5.26", "2025", "NEO4J_2025_VERSION"
