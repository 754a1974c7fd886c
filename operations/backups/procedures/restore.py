"""Restore from a catalogued backup with a short outage, never losing the current store (docs/outage.md).

The dump is loaded into a staging store beside the live one while Neo4j keeps serving, and its node and
relationship counts are checked against the catalog there; only then is Neo4j stopped, the database directories
swapped by rename (the live ones into the set-aside store, the staged ones into their place) and Neo4j started.
Rollback is the swap back. The set-aside data is the safety copy: once Neo4j answers on the restored store it is
dumped offline and catalogued as the safety backup, and only then removed.

The scratch server that counts the staged store also lists its identities; compared with the live store's, the
run says before the outage which identities come back, go or change, and once the restored store stands the
identity audit log gets one entry per identity changed, in the name of whoever asked for the restore.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from django.utils import timezone

from identities import store_diff
from operations.humanize import human_size
from operations.models import Backup, BackupCopy
from operations.runs import outage as run_outage
from operations.runs.contract import OperationFailed, Procedure, RunContext, Step
from operations.targets import Target
from operations.targets.base import COUNT_STATEMENTS, counted
from security.actors import Actor

from .. import offsite
from . import dumps, outage


def aside_dir(target: Target) -> Path:
    """The side store the live database directories are renamed into at the swap; fixed, so the preview is exact."""
    return target.data_dir / "portal-restore-aside"


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
    permission = "operations.restore_backup"
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
        staging, aside = t.staging_dir(), aside_dir(t)
        swaps = ", ".join(
            f"{live} -> {away}, {new} -> {live}"
            for live, new, away in zip(t.database_dirs(), t.side_databases(staging), t.side_databases(aside))
        )
        expected = outage.outage_words(t, self.kind)
        return [
            Step(
                "fetch the off-site copy if the dump is gone or damaged",
                self.fetch,
                f"only when {name} is missing, or its SHA-256 is not the catalog's and a good off-site copy exists "
                f"(the damaged file is set aside as <file>.damaged-<time>): download the copy with rclone beside it, "
                f"check its SHA-256 against the catalog, then give it the dump's name (docs/offsite-copies.md)",
            ),
            Step(
                "check the backup",
                self.check_backup,
                "the file exists and its SHA-256 equals the catalog's; the backups directory is writable and has "
                f"room for the safety copy; {t.data_dir} has room for the staged store",
            ),
            Step(
                "record the current state",
                dumps.record_state,
                "is Neo4j running; node and relationship counts of the store about to be replaced",
            ),
            Step(
                "load the backup",
                self.load,
                f"while Neo4j serves: hard-link {name} as {dumps.in_progress_dir(t)}/{t.connection.database}.dump, "
                f"then load it into the staging store {staging}/data (neo4j-admin with a scratch configuration)",
                commands=[t.side_admin_command(staging, load_args(t))],
            ),
            Step(
                "check the staged store",
                self.check_staged,
                "while Neo4j serves: a scratch server on the staged store (loopback only, stopped after) counts "
                "nodes and relationships; they must equal the catalog's, else the live store is left untouched. "
                "It also lists the staged identities: which come back, go or change against the live store",
            ),
            Step(
                "stop Neo4j",
                self.stop,
                f"THE OUTAGE BEGINS: Neo4j is unavailable from here until 'start Neo4j' (expected: {expected})",
            ),
            Step("swap the stores", self.swap, f"renames only, the server stopped: {swaps}"),
            Step(
                "start Neo4j",
                self.start_restored,
                "THE OUTAGE ENDS: start the server on the restored store and wait until Bolt answers",
            ),
            Step("verify", self.verify, "node and relationship counts equal the catalog's"),
            Step(
                "record the identities' changes",
                self.audit_identities,
                "one identity audit entry per identity that came back, went or changed, by whoever asked for the "
                "restore",
            ),
            Step(
                "safety backup: dump the set-aside data",
                self.dump_aside,
                f"while Neo4j serves: dump the replaced store, set aside in {aside}/data, to "
                f"{dumps.in_progress_dir(t)}/{t.connection.database}.dump (a temporary name)",
                commands=[t.side_admin_command(aside, dumps.dump_args(t))],
            ),
            Step(
                "safety backup: name and catalog",
                self.catalog_safety,
                f"link the dump to {t.backup_dir}/neo4j-<UTC date-time>.dump, checksum, catalog it",
            ),
            dumps.portal_db_step(t, prefix="safety backup: "),
            Step(
                "discard the set-aside data",
                self.discard_aside,
                f"remove {aside} (the safety backup keeps that state)",
            ),
            Step(
                "roll back",
                self.roll_back,
                "only after a failure: before the restored store verified, stop Neo4j, swap the stores back and "
                "start it on the previous data; after, the restore stands and the set-aside data is kept",
                when="failure",
            ),
            Step("make sure Neo4j runs", self.ensure_running, "start Neo4j if it was running before", when="always"),
            Step(
                "remove the staging store", self.remove_staging, f"remove {staging}, whatever happened", when="always"
            ),
        ]

    # -- steps ------------------------------------------------------------------------------------------
    def fetch(self, ctx: RunContext) -> str:
        backup = self.backup
        path = backup.path_in(self.target.backup_dir)
        if path.is_file():
            actual = dumps.sha256_of(path)
            if actual == backup.sha256:
                ctx.remember(sha256_checked=actual)
                return f"{path} is there and its SHA-256 matches the catalog; nothing fetched"
            if not backup.copies.filter(state=BackupCopy.State.OK).exists():
                return f"{path} is damaged and has no off-site copy: the next step refuses it"
            damaged = path.with_name(f"{path.name}.damaged-{timezone.now():%Y%m%d-%H%M%S}")
            path.rename(damaged)
            ctx.log(
                f"{path} is damaged (SHA-256 {actual}, the catalog says {backup.sha256}): set aside as "
                f"{damaged.name}; fetching its off-site copy",
                "warning",
            )
        else:
            ctx.log(f"{path} is missing: fetching it from its off-site copy", "warning")
        try:
            done = offsite.fetch(backup, path)
        except offsite.CopyError as exc:
            raise OperationFailed(f"{path} is missing and {exc}; nothing was stopped or changed") from None
        ctx.remember(fetched=True, sha256_checked=backup.sha256)  # the fetch compared it with the catalog
        return done

    def check_backup(self, ctx: RunContext) -> str:
        self.validate()
        backup = self.backup
        path = backup.path_in(self.target.backup_dir)
        actual = ctx.state.get("sha256_checked") or dumps.sha256_of(path)  # hashed once: dumps can be large
        if actual != backup.sha256:
            raise OperationFailed(
                f"{path} is damaged: its SHA-256 is {actual}, the catalog says {backup.sha256}; "
                f"nothing was stopped or changed"
            )
        ctx.remember(restoring=backup.file_name)
        notes = [f"{path}: SHA-256 matches the catalog", dumps.check_backup_dir(ctx)]
        notes += outage.clear_side(self.target, self.target.staging_dir())  # an earlier run's, never live data
        free = shutil.disk_usage(self.target.data_dir).free
        # A loaded store is several times its compressed dump; the current store's size is the better guide.
        need = max(outage.store_size(self.target), backup.size * 4)
        notes.append(f"{self.target.data_dir}: {human_size(free)} free; the staged store may need {human_size(need)}")
        if free < need and not ctx.run.params.get("ignore_free_space"):
            raise OperationFailed(
                f"{self.target.data_dir} has {human_size(free)} free, less than the {human_size(need)} "
                f"the staged store may need; nothing was stopped or changed. Make room and try again"
            )
        return "\n".join(notes)

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
            outage.side_admin(ctx, t.staging_dir(), load_args(t), f"loading {source.name} failed")
        finally:
            shutil.rmtree(staged.parent, ignore_errors=True)
        t.fix_ownership([t.staging_dir() / "data"])
        return f"loaded {source.name} into {t.staging_dir()}"

    def check_staged(self, ctx: RunContext) -> str:
        backup = self.backup
        staged = self.target.side_read(self.target.staging_dir(), [*COUNT_STATEMENTS, store_diff.READ_IDENTITIES])
        nodes, rels = counted(staged)
        changes = store_diff.compare(self.target.query(store_diff.READ_IDENTITIES), staged[2])
        ctx.remember(identity_changes=[c.as_dict() for c in changes])
        who = identity_words(changes)
        if backup.node_count is None or backup.relationship_count is None:
            ctx.log(
                f"the catalog has no counts for {backup.file_name} (Neo4j was stopped when it was made); "
                f"only checked that a server starts on it",
                "warning",
            )
            return f"the staged store: {nodes} nodes, {rels} relationships (nothing to compare with)\n{who}"
        if (nodes, rels) != (backup.node_count, backup.relationship_count):
            raise OperationFailed(
                f"the staged store has {nodes} nodes and {rels} relationships; the catalog says "
                f"{backup.node_count} and {backup.relationship_count}. The live store was not touched"
            )
        return f"the staged store: {nodes} nodes and {rels} relationships, as in the catalog\n{who}"

    def stop(self, ctx: RunContext) -> str:
        run_outage.began(ctx)
        self.target.stop()
        return "Neo4j stopped"

    def swap(self, ctx: RunContext) -> str:
        t = self.target
        dumps.ensure_still_stopped(ctx, "the swap")
        # Recorded before the first rename: a crash right after it must still find the data to put back.
        ctx.remember(aside=True, dump_started=timezone.now().isoformat())
        done = t.swap_in(t.staging_dir(), aside_dir(t))
        t.fix_ownership(t.database_dirs())
        return "\n".join(done)

    def start_restored(self, ctx: RunContext) -> str:
        self.target.start()
        run_outage.ended(ctx)
        return "Neo4j is up and answers over Bolt"

    def verify(self, ctx: RunContext) -> str:
        backup = self.backup
        nodes, rels = self.target.counts()
        if backup.node_count is None or backup.relationship_count is None:
            ctx.log(
                f"the catalog has no counts for {backup.file_name} (Neo4j was stopped when it was made); "
                f"only checked that Bolt answers",
                "warning",
            )
            ctx.remember(verified=True)
            return f"{nodes} nodes, {rels} relationships (nothing to compare with)"
        if (nodes, rels) != (backup.node_count, backup.relationship_count):
            raise OperationFailed(
                f"the restored store has {nodes} nodes and {rels} relationships; the catalog "
                f"says {backup.node_count} and {backup.relationship_count}"
            )
        ctx.remember(verified=True)
        return f"{nodes} nodes and {rels} relationships, as in the catalog"

    def audit_identities(self, ctx: RunContext) -> str:
        changes = [store_diff.IdentityChange.from_dict(d) for d in ctx.state.get("identity_changes", [])]
        run = ctx.run
        actor = Actor.staff(run.requested_by) if run.requested_by else Actor.from_label(run.requested_by_label)
        store_diff.record_restore(actor, changes, note=f"restore of {self.backup.file_name} (run #{run.pk})")
        return identity_words(changes, done=True)

    def dump_aside(self, ctx: RunContext) -> str:
        return outage.dump_side(ctx, aside_dir(self.target))

    def catalog_safety(self, ctx: RunContext) -> str:
        name = dumps.final_name(ctx)
        backup = dumps.catalog(ctx, Backup.Purpose.SAFETY)
        ctx.remember(safety_backup_id=backup.pk)
        return f"{name}; catalogued as safety backup #{backup.pk}"

    def discard_aside(self, ctx: RunContext) -> str:
        done = outage.clear_side(self.target, aside_dir(self.target))
        ctx.remember(aside=False)
        return "\n".join(done)

    def roll_back(self, ctx: RunContext) -> str:
        if ctx.state.get("verified"):
            return (
                f"the restore stands (the restored store verified); the previous data is kept in "
                f"{aside_dir(self.target)}: dump it (it has no safety backup) or remove it by hand"
            )
        return "\n".join(self._put_back(ctx)) or "nothing had been changed: the live store was not touched"

    def ensure_running(self, ctx: RunContext) -> str:
        if ctx.state.get("was_running") and not self.target.is_up():
            self.target.start()
            run_outage.ended(ctx)
            return "Neo4j started"
        return "Neo4j is running" if self.target.is_up() else "Neo4j was not running before; left stopped"

    def remove_staging(self, ctx: RunContext) -> str:
        return "\n".join(outage.clear_side(self.target, self.target.staging_dir())) or "there was no staging store"

    def _put_back(self, ctx: RunContext) -> list[str]:
        """Undo a swap whose restored store did not verify: the set-aside store goes back and Neo4j starts on it."""
        t = self.target
        done: list[str] = []
        if not ctx.state.get("aside"):
            return done
        if t.is_up():
            t.stop()
            done.append("stopped Neo4j (it was running on the loaded copy)")
        done += t.swap_back(aside_dir(t))
        done += outage.clear_side(t, aside_dir(t))
        ctx.remember(aside=False)
        t.fix_ownership(t.database_dirs())
        t.start()
        run_outage.ended(ctx)
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

    def _keep_what_it_served(self, ctx: RunContext) -> list[str]:
        """The restored store was started and served before the worker died: it may hold writes made since. Dump and
        catalog it as a safety backup before the previous data goes back, so nothing it took in is lost unsaid. A
        failure here stops the recovery before the swap back: the restored store then stays where it is."""
        t = self.target
        kept = {k: ctx.state.get(k) for k in ("nodes", "relationships", "file_name", "backup_id", "dump_started")}
        nodes, rels = t.counts() if t.is_up() else (None, None)
        if t.is_up():
            t.stop()
        ctx.remember(nodes=nodes, relationships=rels)
        dumps.dump(ctx)
        name = dumps.final_name(ctx)
        backup = dumps.catalog(ctx, Backup.Purpose.SAFETY)
        ctx.remember(served_backup_id=backup.pk, **kept)  # the previous data's facts again, for the put-back check
        return [
            f"the restored store had served since {ctx.state['outage_ended']}: kept what it held ({nodes} nodes, "
            f"{rels} relationships, writes made since the restore included) as safety backup #{backup.pk} ({name}) "
            "before putting the previous data back"
        ]

    def recover(self, ctx: RunContext) -> list[str]:
        t = self.target
        done = t.stop_admin() + t.stop_side(aside_dir(t)) + dumps.clear_in_progress(ctx)
        if ctx.state.get("aside") and not ctx.state.get("verified"):
            if ctx.state.get("outage_ended"):
                done += self._keep_what_it_served(ctx)
            done += self._put_back(ctx)
        elif ctx.state.get("aside"):
            done.append(
                f"the restore had verified and stands; the previous data is still in {aside_dir(t)} (no safety "
                f"backup was catalogued from it unless the run's log says so): dump it or remove it by hand"
            )
            ctx.state["was_running"] = True
        done += outage.clear_side(t, t.staging_dir())
        return done + super().recover(ctx)


def identity_words(changes: list[store_diff.IdentityChange], done: bool = False) -> str:
    """The identities a restore changes (or changed), one line each."""
    if not changes:
        return "no identity comes back, goes or changes" if not done else "no identity changed: nothing to record"
    head = f"{len(changes)} identit{'y' if len(changes) == 1 else 'ies'} " + ("changed:" if done else "will change:")
    return "\n".join([head, *(f"- {c.words()}" for c in changes)])
