"""Backup with no outage or a short one (docs/snapshot-backups.md, docs/outage.md).

Where the storage can snapshot the running store (the data directory is a btrfs subvolume, or snapshot commands are
configured), the backup never stops Neo4j: one atomic snapshot of the data directory, a private server started on it
(which recovers it from its transaction logs, as after a power cut) and counted, the recovered snapshot dumped, then
removed. Otherwise, the short-outage backup (docs/outage.md): checkpoint, stop Neo4j, copy the store to a snapshot
beside it, start Neo4j again whatever happened, then dump the snapshot offline under a temporary name, remove it.
Either way: name, checksum, catalog; then a copy of the portal's own database beside the dump, and the dump's
off-site copy (docs/offsite-copies.md).

Where the data directory's file system has no room for a copy, the backup falls back to dumping the stopped store
itself (Neo4j stays down for the whole dump). Which of the three a run takes is decided when it is requested and
recorded in the run's parameters (``procedure``, one of ``Backup.Procedure``, and ``procedure_why``; ``snapshot``
for the copy), so the preview shows it; the catalog records it on the backup.
"""

from __future__ import annotations

import time
from typing import Any

from django.utils import timezone

from operations.models import Backup
from operations.runs.contract import OperationFailed, Procedure, RunContext, Step
from operations.targets import Target, TargetError

from . import dumps, outage
from .copy import copy_step

OFFLINE, SHORT_OUTAGE, ONLINE_SNAPSHOT = (
    Backup.Procedure.OFFLINE.value,
    Backup.Procedure.SHORT_OUTAGE.value,
    Backup.Procedure.ONLINE_SNAPSHOT.value,
)


def choose_procedure(target: Target) -> dict[str, Any]:
    """The backup's parameters that decide how it runs: ``procedure`` and ``procedure_why`` (and, without an online
    snapshot, ``snapshot`` / ``snapshot_room``: room for the short-outage copy?). TargetError when the target
    cannot be reached from here."""
    method, why_not = target.online_snapshot_method()
    if method is not None:
        return {"procedure": ONLINE_SNAPSHOT, "procedure_why": method.why, "snapshot": False}
    room, words = outage.snapshot_room(target)
    if room:
        why = f"{why_not}: a short outage (Neo4j stopped while its store is copied)"
    else:
        why = f"{why_not}, and no room for a copy ({words}): an outage for the whole dump"
    return {
        "procedure": SHORT_OUTAGE if room else OFFLINE,
        "procedure_why": why,
        "snapshot": room,
        "snapshot_room": words,
    }


class BackupProcedure(Procedure):
    kind = "backup"
    title = "Back up the state store"
    permission = "operations.request_backup"

    def __init__(self, target: Target, params: dict[str, Any]):
        super().__init__(target, params)
        if "procedure" in self.params:
            return
        if "snapshot" in self.params:  # requested before the procedure was recorded
            self.params["procedure"] = SHORT_OUTAGE if self.params["snapshot"] else OFFLINE
            return
        try:
            self.params.update(choose_procedure(target))
        except TargetError:
            pass  # a web process that does not reach the target (operations/runs/worker_calls.py): its worker decides

    @property
    def procedure(self) -> str:
        return str(self.params.get("procedure") or OFFLINE)

    @property
    def uses_snapshot(self) -> bool:
        return self.procedure == SHORT_OUTAGE

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
        if self.params.get("procedure_why"):
            label = Backup.Procedure(self.procedure).label
            first[0].description += f". THIS BACKUP: {label} ({self.params['procedure_why']})"
        if self.procedure == ONLINE_SNAPSHOT:
            return self.online_steps(first, last)
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
            *self.dump_and_remove_steps("while Neo4j serves: dump the snapshot", f"remove {snap}"),
            *last,
        ]

    def dump_and_remove_steps(self, dump_words: str, remove_words: str) -> list[Step]:
        """Dump the snapshot side store offline under a temporary name, then remove it whatever happened."""
        t = self.target
        snap = t.snapshot_dir()
        return [
            Step(
                "dump the snapshot",
                self.dump,
                f"{dump_words} to {dumps.in_progress_dir(t)}/{t.connection.database}.dump (a temporary name), "
                f"neo4j-admin with a scratch configuration whose data directory is {snap}/data",
                commands=[t.side_admin_command(snap, dumps.dump_args(t))],
            ),
            Step("remove the snapshot", self.remove_snapshot, f"{remove_words}, whatever happened", when="always"),
        ]

    def online_steps(self, first: list[Step], last: list[Step]) -> list[Step]:
        t = self.target
        snap = t.snapshot_dir()
        return [
            *first,
            Step(
                "snapshot the live data directory",
                self.take_online_snapshot,
                f"NO OUTAGE: Neo4j keeps running. One atomic snapshot of {t.data_dir} (store files and transaction "
                f"logs together) into {snap}/data; only the database's store and transaction logs are kept in it "
                f"({self.params.get('procedure_why', '')})",
                commands=[t.online_snapshot_command(snap)],
            ),
            Step(
                "recover the snapshot",
                self.recover_snapshot,
                f"a private Neo4j (loopback only, ports the kernel picks, a throwaway password) started on {snap}/data "
                f"recovers it from its transaction logs like after a power cut; its node and relationship counts are "
                f"the backup's; then it is stopped cleanly",
            ),
            *self.dump_and_remove_steps("dump the recovered snapshot", f"delete the snapshot and {snap}"),
            *last,
        ]

    def take_online_snapshot(self, ctx: RunContext) -> str:
        # The snapshot holds the store as it is at this moment: the backup is named for it.
        ctx.remember(dump_started=timezone.now().isoformat(), online_snapshot=True)
        try:
            return self.target.take_online_snapshot(self.target.snapshot_dir())
        except TargetError as exc:
            raise OperationFailed(f"{exc}; Neo4j was not stopped or changed") from None

    def recover_snapshot(self, ctx: RunContext) -> str:
        began = time.monotonic()
        try:
            nodes, relationships = self.target.side_counts(self.target.snapshot_dir())
        except TargetError as exc:
            raise OperationFailed(
                f"the server on the snapshot did not recover it: {exc}. The live Neo4j was not stopped or changed"
            ) from None
        took = time.monotonic() - began
        # The backup holds these, not what the live store held when the run began (it kept changing).
        ctx.remember(
            live_nodes=ctx.state.get("nodes"),
            live_relationships=ctx.state.get("relationships"),
            nodes=nodes,
            relationships=relationships,
            recovery_seconds=round(took, 2),
        )
        return (
            f"recovered, counted and stopped in {took:.1f} s: {nodes} nodes, {relationships} relationships "
            f"(the live store had {ctx.state.get('nodes')} and {ctx.state.get('relationships')} when the run began)"
        )

    def check_dirs(self, ctx: RunContext) -> str:
        out = dumps.check_backup_dir(ctx)
        if self.procedure == ONLINE_SNAPSHOT:
            leftover = outage.clear_side(self.target, self.target.snapshot_dir())
            method, why = self.target.online_snapshot_method()
            if method is None:
                raise OperationFailed(
                    f"{why}: the running store cannot be snapshotted any more; nothing was stopped or changed. "
                    f"Request the backup again (it then takes the short-outage path)"
                )
            return "\n".join([out, *leftover, method.why])
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
        backup = dumps.catalog(ctx, Backup.Purpose.REQUESTED, self.procedure)
        return f"catalogued backup #{backup.pk}: {backup.file_name}, {backup.size} bytes, sha256 {backup.sha256}"

    def recover(self, ctx: RunContext) -> list[str]:
        stopped = self.target.stop_admin()  # before removing the files it writes
        snapshot = outage.clear_side(self.target, self.target.snapshot_dir())
        return stopped + snapshot + dumps.clear_in_progress(ctx) + super().recover(ctx)
