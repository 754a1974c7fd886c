"""Restore from a catalogued backup, never losing the current store.

Safety backup of the current store first; the current database directories are *moved* aside (same file system,
so a rename), never deleted before the loaded store is verified; on any failure the loaded copy is removed, the
set-aside data is moved back and Neo4j started on it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .. import offsite
from ..models import Backup, BackupCopy
from ..runner import OperationFailed, Procedure, RunContext, Step
from ..targets import Target
from . import dumps


def aside_dir(target: Target) -> Path:
    """Where the current database directories wait while a restore loads; fixed, so the preview is exact."""
    return target.data_dir / "portal-restore-aside"


def _aside_pairs(target: Target) -> list[tuple[Path, Path]]:
    """(live directory, its place aside) for the store and the transaction logs."""
    return [(live, aside_dir(target) / live.parent.name / live.name) for live in target.database_dirs()]


def load_args(target: Target) -> list[str]:
    return [
        "database",
        "load",
        target.connection.database,
        f"--from-path={target.admin_path(dumps.in_progress_dir(target))}",
    ]


class RestoreProcedure(Procedure):
    kind = "restore"
    title = "Restore the state store from a backup"
    destructive = True
    changes_store = True

    @property
    def backup(self) -> Backup:
        try:
            backup = Backup.objects.get(pk=self.params["backup_id"], target=self.target.name)
        except (Backup.DoesNotExist, KeyError):
            raise OperationFailed(
                f"backup {self.params.get('backup_id')!r} is not in the catalog of target {self.target.name!r}"
            ) from None
        try:
            backup.path_in(self.target.backup_dir)
        except ValueError as exc:
            raise OperationFailed(str(exc)) from None
        return backup

    def validate(self) -> None:
        backup = self.backup
        path = backup.path_in(self.target.backup_dir)
        if not path.is_file() and not backup.copies.filter(state=BackupCopy.State.OK).exists():
            raise OperationFailed(f"the backup file {path} is missing, and it has no off-site copy to fetch")
        if backup.database != self.target.connection.database:
            raise OperationFailed(
                f"backup {backup.file_name} is of database {backup.database!r}, not {self.target.connection.database!r}"
            )
        ours = self.target.neo4j_version().split(".")[0]
        if backup.neo4j_version.split(".")[0] != ours:
            raise OperationFailed(
                f"backup {backup.file_name} was made by Neo4j {backup.neo4j_version}; this server "
                f"is {self.target.neo4j_version()}: that needs a migration, not a restore"
            )
        if aside_dir(self.target).exists():
            raise OperationFailed(
                f"{aside_dir(self.target)} exists: data set aside by an earlier restore that did "
                f"not finish. Inspect it and move it away before restoring again"
            )

    def steps(self) -> list[Step]:
        t = self.target
        name = f"{t.backup_dir}/<the backup's file>"
        pairs = ", ".join(f"{live} -> {away}" for live, away in _aside_pairs(t))
        return [
            Step(
                "fetch the off-site copy if the dump is gone",
                self.fetch,
                f"only when {name} is missing: download its off-site copy with rclone beside it, check its SHA-256 "
                f"against the catalog, then give it the dump's name (docs/offsite-copies.md)",
            ),
            Step(
                "check the backup",
                self.check_backup,
                "the file exists and its SHA-256 equals the catalog's; the backups directory is writable",
            ),
            Step(
                "record the current state",
                dumps.record_state,
                "is Neo4j running; node and relationship counts of the store about to be replaced",
            ),
            *dumps.dump_steps(t, prefix="safety backup: "),
            Step(
                "safety backup: name and catalog",
                self.catalog_safety,
                f"link the dump to {t.backup_dir}/neo4j-<UTC date-time>.dump, checksum, catalog it",
            ),
            dumps.portal_db_step(t, prefix="safety backup: "),
            Step("set the current data aside", self.set_aside, f"move (rename, never delete): {pairs}"),
            Step(
                "load the backup",
                self.load,
                f"hard-link {name} as {dumps.in_progress_dir(t)}/{t.connection.database}.dump, then load it",
                commands=[t.admin_command(load_args(t))],
            ),
            Step("fix ownership", self.fix_ownership, "give the loaded files to the data directory's owner"),
            Step(
                "start Neo4j",
                lambda ctx: ctx.target.start() or "Neo4j is up and answers over Bolt",
                "start the server on the restored store and wait until Bolt answers",
            ),
            Step("verify", self.verify, "node and relationship counts equal the catalog's"),
            Step(
                "discard the set-aside data",
                self.discard_aside,
                f"remove {aside_dir(t)} (the safety backup keeps that state)",
            ),
            Step(
                "roll back",
                self.roll_back,
                "only after a failure: remove the loaded copy, move the set-aside data back, start Neo4j on it",
                when="failure",
            ),
            Step("make sure Neo4j runs", self.ensure_running, "start Neo4j if it was running before", when="always"),
        ]

    # -- steps ------------------------------------------------------------------------------------------
    def fetch(self, ctx: RunContext) -> str:
        backup = self.backup
        path = backup.path_in(self.target.backup_dir)
        if path.is_file():
            return f"{path} is there; nothing fetched"
        ctx.log(f"{path} is missing: fetching it from its off-site copy", "warning")
        try:
            done = offsite.fetch(backup, path)
        except offsite.CopyError as exc:
            raise OperationFailed(f"{path} is missing and {exc}; nothing was stopped or changed") from None
        ctx.remember(fetched=True)
        return done

    def check_backup(self, ctx: RunContext) -> str:
        self.validate()
        backup = self.backup
        path = backup.path_in(self.target.backup_dir)
        actual = dumps.sha256_of(path)
        if actual != backup.sha256:
            raise OperationFailed(
                f"{path} is damaged: its SHA-256 is {actual}, the catalog says {backup.sha256}; "
                f"nothing was stopped or changed"
            )
        ctx.remember(restoring=backup.file_name)
        return f"{path}: SHA-256 matches the catalog\n" + dumps.check_backup_dir(ctx)

    def catalog_safety(self, ctx: RunContext) -> str:
        name = dumps.final_name(ctx)
        backup = dumps.catalog(ctx, Backup.Purpose.SAFETY)
        ctx.remember(safety_backup_id=backup.pk)
        return f"{name}; catalogued as safety backup #{backup.pk}"

    def set_aside(self, ctx: RunContext) -> str:
        moved = []
        for live, away in _aside_pairs(self.target):
            if not live.exists():
                continue
            away.parent.mkdir(parents=True, exist_ok=True)
            # Recorded before the rename: a crash right after it must still find the data to put back.
            ctx.remember(aside=True)
            os.rename(live, away)
            moved.append(f"{live} -> {away}")
        if not moved:
            raise OperationFailed(f"found no database directories to set aside under {self.target.data_dir}")
        return "\n".join(moved)

    def load(self, ctx: RunContext) -> str:
        t = self.target
        staged = dumps.in_progress_dir(t) / f"{t.connection.database}.dump"
        shutil.rmtree(staged.parent, ignore_errors=True)
        staged.parent.mkdir()
        source = self.backup.path_in(t.backup_dir)
        try:
            os.link(source, staged)
        except OSError:
            shutil.copyfile(source, staged)  # a file system without hard links
        t.fix_ownership([staged.parent])
        try:
            dumps.ensure_still_stopped(ctx, "the load")
            ctx.admin(load_args(t), f"loading {source.name} failed")
            dumps.ensure_still_stopped(ctx, "the load")
        finally:
            shutil.rmtree(staged.parent, ignore_errors=True)
        return f"loaded {source.name}"

    def fix_ownership(self, ctx: RunContext) -> str:
        return self.target.fix_ownership(self.target.database_dirs())

    def verify(self, ctx: RunContext) -> str:
        backup = self.backup
        nodes, rels = self.target.counts()
        if backup.node_count is None or backup.relationship_count is None:
            ctx.log(
                f"the catalog has no counts for {backup.file_name} (Neo4j was stopped when it was made); "
                f"only checked that Bolt answers",
                "warning",
            )
            return f"{nodes} nodes, {rels} relationships (nothing to compare with)"
        if (nodes, rels) != (backup.node_count, backup.relationship_count):
            raise OperationFailed(
                f"the restored store has {nodes} nodes and {rels} relationships; the catalog "
                f"says {backup.node_count} and {backup.relationship_count}"
            )
        ctx.remember(verified=True)
        return f"{nodes} nodes and {rels} relationships, as in the catalog"

    def discard_aside(self, ctx: RunContext) -> str:
        shutil.rmtree(aside_dir(self.target))
        ctx.remember(aside=False)
        return f"removed {aside_dir(self.target)}"

    def roll_back(self, ctx: RunContext) -> str:
        return "\n".join(self._put_back(ctx)) or "nothing had been changed"

    def ensure_running(self, ctx: RunContext) -> str:
        if ctx.state.get("was_running") and not self.target.is_up():
            self.target.start()
            return "Neo4j started"
        return "Neo4j is running" if self.target.is_up() else "Neo4j was not running before; left stopped"

    def _put_back(self, ctx: RunContext) -> list[str]:
        """Undo a restore that did not verify: the set-aside store goes back and Neo4j starts on it."""
        t = self.target
        done = []
        if not ctx.state.get("aside"):
            return done
        if t.is_up():
            t.stop()
            done.append("stopped Neo4j (it was running on the loaded copy)")
        for live, away in _aside_pairs(t):
            if not away.exists():
                continue
            if live.exists():
                shutil.rmtree(live)  # the copy loaded by this run, never the original
                done.append(f"removed the loaded {live}")
            os.rename(away, live)
            done.append(f"moved {away} back to {live}")
        shutil.rmtree(aside_dir(t), ignore_errors=True)
        ctx.remember(aside=False)
        t.fix_ownership(t.database_dirs())
        t.start()
        done.append("started Neo4j on the previous data")
        nodes, rels = t.counts()
        before = (ctx.state.get("nodes"), ctx.state.get("relationships"))
        if before != (None, None) and (nodes, rels) != before:
            raise OperationFailed(
                f"after putting the previous data back Neo4j has {nodes} nodes and {rels} "
                f"relationships, not {before[0]} and {before[1]}"
            )
        done.append(f"previous data back: {nodes} nodes, {rels} relationships")
        return done

    def recover(self, ctx: RunContext) -> list[str]:
        done = self.target.stop_admin() + dumps.clear_in_progress(ctx)
        if ctx.state.get("aside") and not ctx.state.get("verified"):
            return done + self._put_back(ctx)
        if ctx.state.get("aside"):
            done.append(f"the restore had verified; the previous data is still in {aside_dir(self.target)}")
            ctx.state["was_running"] = True
        return done + super().recover(ctx)
