"""Data migration: a Neo4j 4.4 store to Neo4j 5 (alchemiscale v0.3 ran on 4.4, v0.4 and later on 5.x).

The 5 release is the setting PORTAL_NEO4J_MIGRATION_VERSION (default 5.18.1: the guide migrates to 5.18 and
alchemiscale's compose file defaults to ``neo4j:5.18``); read when a run is planned or carried out.

The guide's "Migrate data from neo4j 4.4 to 5.18", made safe: the safety dump is written by 4.4 with 4.4's own
syntax (the guide uses 5.x syntax there by mistake), the 4.4 data directory is set aside rather than deleted, and
the result is compared with what 4.4 held before anything was stopped. Any failure puts the 4.4 data directory
back, switches back to 4.4 and starts it; an interruption leaves everything where it was, to be resumed from the
last completed step or rolled back from the upgrade page (``base.py``).

"Switching" is the target's business (``Target.use_neo4j_version``): the local target points its installation at
the other version's jars and configuration; the Docker target re-creates the compose deployment's Neo4j container
on the other version's image and updates (or says how to update) compose's ``.env``. Whether that version is at
hand (jars, image) is checked before anything is stopped.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from django.conf import settings

from operations.backups.procedures import dumps
from operations.runs.contract import OperationFailed, RunContext, Step

from ..models import Backup
from ..targets import Target
from ..targets.base import initial_password_args
from . import neo4j_switch, snapshot
from .neo4j_switch import Neo4jSwitchProcedure


def to_version() -> str:
    """The Neo4j 5 release the migration moves to (PORTAL_NEO4J_MIGRATION_VERSION)."""
    return settings.NEO4J_MIGRATION_VERSION


def aside_dir(target: Target) -> Path:
    """Where the 4.4 data directory waits, untouched, while 5.x loads (fixed, so previews can name it)."""
    return target.data_dir.with_name(target.data_dir.name + ".neo4j-4.4")


def staging_dir(target: Target) -> Path:
    """A directory holding ``<db>.dump``, the form ``neo4j-admin database load --from-path`` reads."""
    return target.backup_dir / f".migration-{target.name}"


def load_args(target: Target) -> list[str]:
    return [
        "database",
        "load",
        target.connection.database,
        f"--from-path={target.admin_path(staging_dir(target))}",
        "--overwrite-destination",
    ]


def migrate_args(target: Target) -> list[str]:
    return ["database", "migrate", "--force-btree-indexes-to-range", target.connection.database]


def check_args(target: Target) -> list[str]:
    return neo4j_switch.check_args(target.connection.database)


MASKED = "********"


class Neo4j44To5Procedure(Neo4jSwitchProcedure):
    kind = "neo4j-4.4-to-5"
    title = "Migrate the state store from Neo4j 4.4 to Neo4j 5"
    # Not the 5.x release: that is a setting, and a store migrated once is not migrated again whichever it was.
    migration_name = "neo4j-4.4-to-5"
    from_label = "4.4"
    # The dump is usually far smaller than the store, but the loaded 5.x store is about the store's size.
    disk_factor = 1

    @classmethod
    def target_release(cls) -> str:
        return to_version()

    def new_version(self) -> str:
        return to_version()

    def aside_dir(self) -> Path:
        return aside_dir(self.target)

    def check_versions(self) -> list[str]:
        version = self.target.neo4j_version()
        if not version.startswith("4.4"):
            return [f"the store runs Neo4j {version}, not 4.4; this migration does not apply"]
        return self.check_aside_free()

    def check_new_version(self) -> list[str]:
        return self.target.check_neo4j_version(to_version())

    def steps_for_run(self) -> list[Step]:
        t, db = self.target, self.target.connection.database
        version = to_version()

        def admin(args: list[str]) -> list[str]:
            return t.admin_command_for(version, args)

        return [
            Step(
                "check the migration applies",
                self.check_step,
                f"the store runs Neo4j 4.4, the migration is not recorded as applied, nothing is set aside, "
                f"Neo4j {version} is at hand",
            ),
            Step(
                "check the backups directory",
                dumps.check_backup_dir,
                f"{t.backup_dir} exists, is writable and has room for the safety dump",
            ),
            Step(
                "record the 4.4 store",
                self.record_before,
                f"while 4.4 is up: node and relationship counts, counts per label and type, and up to "
                f"{snapshot.SAMPLE_SIZE} nodes' properties, to compare with afterwards",
            ),
            Step("stop Neo4j 4.4", dumps.stop, "offline dumps need it stopped"),
            Step(
                "safety dump with Neo4j 4.4",
                dumps.dump,
                f"4.4's own dump syntax, to {dumps.in_progress_dir(t)}/{db}.dump (a temporary name)",
                commands=[t.admin_command(dumps.dump_args(t))],
            ),
            Step(
                "name and catalog the safety dump",
                self.name_safety_dump,
                f"neo4j-<UTC date-time>.dump in {t.backup_dir}, catalogued as a safety copy; linked as "
                f"{staging_dir(t)}/{db}.dump for the load",
            ),
            Step(
                "set the 4.4 data aside",
                self.set_aside,
                f"move {t.data_dir} to {aside_dir(t)} (kept until someone removes it) and start from an "
                f"empty data directory",
            ),
            Step(f"switch to Neo4j {version}", self.switch_to_new, t.switch_description(version)),
            Step(
                f"load with Neo4j {version}",
                self.load,
                "load the 4.4 dump into the empty data directory",
                commands=[admin(load_args(t))],
            ),
            Step(
                "set the initial password",
                self.set_password,
                f"the new system database gets the {t.connection.user!r} password the portal and alchemiscale use",
                commands=[admin(initial_password_args(MASKED))],
            ),
            Step(
                "migrate the store format",
                self.migrate_format,
                "4.4 store format to 5.x; B-tree indexes become range indexes",
                commands=[admin(migrate_args(t))],
            ),
            Step("fix ownership", self.fix_ownership, f"give {t.data_dir} to the data directory's owner"),
            Step(
                "consistency check",
                self.consistency_check,
                "the migrated store must pass neo4j-admin's check",
                commands=[admin(check_args(t))],
            ),
            Step(f"start Neo4j {version}", self.start_new, "start and wait until Bolt answers"),
            Step(
                "verify against the 4.4 store",
                self.verify,
                "counts, counts per label and type, and the sampled nodes' labels and properties must be equal",
            ),
            Step("record the migration", self.record_applied, "the applied-migrations record"),
            Step(
                "put the 4.4 data back",
                self.put_back,
                f"after a failure: {version}'s data directory moved "
                f"aside, {aside_dir(t)} back in place, switched back to 4.4 (the same way)",
                when="failure",
            ),
            Step(
                "start Neo4j 4.4 again",
                self.start_old_again,
                "after a failure: start 4.4 if it was running and check it holds what it held",
                when="failure",
            ),
            Step("record the failed attempt", self.record_failed, "the applied-migrations record", when="failure"),
        ]

    def name_safety_dump(self, ctx: RunContext) -> str:
        target = self.target
        named = dumps.final_name(ctx)
        backup = dumps.catalog(ctx, Backup.Purpose.SAFETY)
        staging = staging_dir(target)
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        os.link(backup.path_in(target.backup_dir), staging / f"{target.connection.database}.dump")
        target.fix_ownership([staging])
        return f"{named}; catalogued as backup #{backup.pk} (sha256 {backup.sha256})"

    def set_aside(self, ctx: RunContext) -> str:
        target = self.target
        data, aside = target.data_dir, aside_dir(target)
        if target.is_up():
            raise OperationFailed("Neo4j is running again; it must stay stopped while its data is set aside")
        st = data.stat()
        # Remembered first: a worker dying between the two must still leave a run that knows where to look.
        ctx.remember(aside=str(aside))
        data.rename(aside)
        data.mkdir(mode=st.st_mode & 0o7777)
        os.chown(data, st.st_uid, st.st_gid)
        return f"{data} -> {aside}; {data} is empty"

    def load(self, ctx: RunContext) -> str:
        ctx.admin(load_args(self.target), f"loading the 4.4 dump with Neo4j {to_version()} failed")
        return "loaded"

    def set_password(self, ctx: RunContext) -> str:
        c = self.target.connection
        if c.user != "neo4j":
            raise OperationFailed(
                f"the portal connects as {c.user!r}; a new Neo4j {to_version()} system database "
                f"only has the user 'neo4j'. Migrate by hand or connect as neo4j"
            )
        ctx.log("$ " + " ".join(self.target.admin_command(initial_password_args(MASKED))))
        result = self.target.admin(initial_password_args(c.password))
        if not result.ok:
            raise OperationFailed(
                f"setting the initial password failed ({result.returncode}): "
                f"{result.output.replace(c.password, MASKED)[-500:]}"
            )
        return "password set (the one in NEO4J_PASS)"

    def migrate_format(self, ctx: RunContext) -> str:
        ctx.admin(migrate_args(self.target), "the store-format migration failed")
        return "store format migrated"

    def fix_ownership(self, ctx: RunContext) -> str:
        return self.target.fix_ownership([self.target.data_dir])

    def tidy_up(self) -> None:
        shutil.rmtree(staging_dir(self.target), ignore_errors=True)
