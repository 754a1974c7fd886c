"""Backup: stop Neo4j, dump under a temporary name, start it again whatever happened, name, checksum, catalog;
then a copy of the portal's own database beside the dump, and the dump's off-site copy (docs/offsite-copies.md)."""

from __future__ import annotations

from ..models import Backup
from ..runner import Procedure, RunContext, Step
from . import dumps
from .copy import copy_step


class BackupProcedure(Procedure):
    kind = "backup"
    title = "Back up the state store"

    def steps(self) -> list[Step]:
        t = self.target
        return [
            Step(
                "check the backups directory",
                dumps.check_backup_dir,
                f"{t.backup_dir} exists, is writable and has room for the dump (refused before anything is "
                f"stopped when not, unless asked to ignore free space)",
            ),
            Step(
                "record the current state",
                dumps.record_state,
                "is Neo4j running; its version; node and relationship counts",
            ),
            *dumps.dump_steps(t),
            Step(
                "start Neo4j",
                dumps.start_again,
                "start it again if it was running, whatever happened, and wait until Bolt answers",
                when="always",
            ),
            Step(
                "name the backup",
                dumps.final_name,
                f"link the complete dump to {t.backup_dir}/neo4j-<UTC date-time>.dump (never replacing a file)",
            ),
            Step("checksum and catalog", self.catalog, "SHA-256 and size of the file; add it to the catalog"),
            dumps.portal_db_step(t),
            copy_step(),
        ]

    def catalog(self, ctx: RunContext) -> str:
        backup = dumps.catalog(ctx, Backup.Purpose.REQUESTED)
        return f"catalogued backup #{backup.pk}: {backup.file_name}, {backup.size} bytes, sha256 {backup.sha256}"

    def recover(self, ctx: RunContext) -> list[str]:
        stopped = self.target.stop_admin()  # before removing the files it writes
        return stopped + dumps.clear_in_progress(ctx) + super().recover(ctx)
