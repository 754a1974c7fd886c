"""Backup with a short outage (docs/outage.md): checkpoint, stop Neo4j, copy the store to a snapshot beside it,
start Neo4j again whatever happened, then dump the snapshot offline under a temporary name, remove it, name,
checksum, catalog; then a copy of the portal's own database beside the dump, and the dump's off-site copy
(docs/offsite-copies.md).

Where the data directory's file system has no room for a snapshot, the backup falls back to dumping the stopped
store itself (Neo4j stays down for the whole dump); which of the two a run does is decided when it is requested
(the run's parameter ``snapshot``), so the preview shows it.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from ..models import Backup
from ..runner import OperationFailed, Procedure, RunContext, Step
from ..targets import Target, TargetError
from . import dumps, outage
from .copy import copy_step


class BackupProcedure(Procedure):
    kind = "backup"
    title = "Back up the state store"

    def __init__(self, target: Target, params: dict[str, Any]):
        super().__init__(target, params)
        if "snapshot" not in self.params:
            try:
                self.params["snapshot"], self.params["snapshot_room"] = outage.snapshot_room(target)
            except TargetError:
                pass  # a web process that does not reach the target (operations/remote.py): its worker decides

    @property
    def uses_snapshot(self) -> bool:
        return bool(self.params.get("snapshot"))

    def steps(self) -> list[Step]:
        t = self.target
        expected = outage.outage_words(t, self.kind)
        first = [
            Step(
                "check the backups directory",
                self.check_dirs,
                f"{t.backup_dir} exists, is writable and has room for the dump (refused before anything is "
                f"stopped when not, unless asked to ignore free space)"
                + (f"; {t.data_dir} still has room for the snapshot" if self.uses_snapshot else ""),
            ),
            Step(
                "record the current state",
                dumps.record_state,
                "is Neo4j running; its version; node and relationship counts",
            ),
        ]
        last = [
            Step(
                "name the backup",
                dumps.final_name,
                f"link the complete dump to {t.backup_dir}/neo4j-<UTC date-time>.dump (never replacing a file)",
            ),
            Step("checksum and catalog", self.catalog, "SHA-256 and size of the file; add it to the catalog"),
            dumps.portal_db_step(t),
            copy_step(),
        ]
        if not self.uses_snapshot:
            stop, dump = dumps.dump_steps(t)
            stop.description += (
                f". NO ROOM FOR A SNAPSHOT ({self.params.get('snapshot_room', '')}): this backup falls back to "
                f"dumping the stopped store, so Neo4j stays unavailable for the whole dump, until 'start Neo4j'"
            )
            return [
                *first,
                stop,
                dump,
                Step(
                    "start Neo4j",
                    dumps.start_again,
                    "start it again if it was running, whatever happened, and wait until Bolt answers",
                    when="always",
                ),
                *last,
            ]
        snap = t.snapshot_dir()
        return [
            *first,
            Step("checkpoint", self.checkpoint, "ask the running server to checkpoint, so that its stop is quick"),
            Step(
                "stop Neo4j",
                dumps.stop,
                f"THE OUTAGE BEGINS: Neo4j is unavailable from here until 'start Neo4j' (expected: {expected})",
            ),
            Step(
                "copy the store to a snapshot",
                self.snapshot,
                f"cp --reflink=auto -a of {', '.join(str(d) for d in t.database_dirs())} into {snap}/data "
                f"(the same file system: shared blocks where it can, else a plain copy)",
            ),
            Step(
                "start Neo4j",
                dumps.start_again,
                "THE OUTAGE ENDS: start it again if it was running, whatever happened, and wait until Bolt answers",
                when="always",
            ),
            Step(
                "dump the snapshot",
                self.dump,
                f"while Neo4j serves: dump the snapshot to {dumps.in_progress_dir(t)}/{t.connection.database}.dump "
                f"(a temporary name), neo4j-admin with a scratch configuration whose data directory is {snap}/data",
                commands=[t.side_admin_command(snap, dumps.dump_args(t))],
            ),
            Step(
                "remove the snapshot",
                self.remove_snapshot,
                f"remove {snap}, whatever happened",
                when="always",
            ),
            *last,
        ]

    def check_dirs(self, ctx: RunContext) -> str:
        out = dumps.check_backup_dir(ctx)
        if not self.uses_snapshot:
            return out
        leftover = outage.clear_side(self.target, self.target.snapshot_dir())
        room, words = outage.snapshot_room(self.target)
        if not room:
            raise OperationFailed(
                f"{words}: no room for the snapshot any more; nothing was stopped or changed. Make room, or "
                f"request the backup again (without room it dumps the stopped store: a longer outage)"
            )
        return "\n".join([out, *leftover, words])

    def checkpoint(self, ctx: RunContext) -> str:
        if not self.target.is_up():
            return "Neo4j is not running"
        return self.target.checkpoint()

    def snapshot(self, ctx: RunContext) -> str:
        dumps.ensure_still_stopped(ctx, "the snapshot")
        # The snapshot holds the store as it is now: the backup is named for this moment.
        ctx.remember(dump_started=timezone.now().isoformat(), snapshot=True)
        out = self.target.snapshot_store(self.target.snapshot_dir())
        dumps.ensure_still_stopped(ctx, "the snapshot")
        return out

    def dump(self, ctx: RunContext) -> str:
        return outage.dump_side(ctx, self.target.snapshot_dir())

    def remove_snapshot(self, ctx: RunContext) -> str:
        return "\n".join(outage.clear_side(self.target, self.target.snapshot_dir())) or "there was no snapshot"

    def catalog(self, ctx: RunContext) -> str:
        backup = dumps.catalog(ctx, Backup.Purpose.REQUESTED)
        return f"catalogued backup #{backup.pk}: {backup.file_name}, {backup.size} bytes, sha256 {backup.sha256}"

    def recover(self, ctx: RunContext) -> list[str]:
        stopped = self.target.stop_admin()  # before removing the files it writes
        snapshot = outage.clear_side(self.target, self.target.snapshot_dir())
        return stopped + snapshot + dumps.clear_in_progress(ctx) + super().recover(ctx)
