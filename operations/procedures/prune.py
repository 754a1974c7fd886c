"""Prune: decide which backups the retention policy lets go (recorded, with reasons), then remove each one's files
and catalog row together. Neo4j is not touched; the run holds the target so no backup or restore runs meanwhile."""

from __future__ import annotations

from django.db import transaction

from ..models import Backup
from ..retention import decide_for, portal_db_path
from ..runner import OperationFailed, Procedure, RunContext, Step


class PruneProcedure(Procedure):
    kind = "prune"
    title = "Prune old backups by the retention policy"

    def steps(self) -> list[Step]:
        return [
            Step(
                "decide what goes",
                self.preview,
                "which backups go and which stay, and why, by the retention "
                "policy (the newest good backup, those a run uses and young safety backups always stay)",
            ),
            Step(
                "remove files and catalog rows",
                self.remove,
                f"for each backup that goes: delete its dump and "
                f"portal database copy in {self.target.backup_dir} and its catalog row together",
            ),
        ]

    def preview(self, ctx: RunContext) -> str:
        verdicts = decide_for(self.target.name, self.target.backup_dir)
        ctx.remember(plan=[v.as_dict() for v in verdicts])
        going = [v for v in verdicts if not v.keep]
        ctx.log(f"{len(going)} of {len(verdicts)} backup(s) go")
        return "\n".join(v.line() for v in verdicts) or "the catalog is empty"

    def remove(self, ctx: RunContext) -> str:
        planned = {entry["id"] for entry in ctx.state.get("plan", []) if not entry["keep"]}
        # Decide again: only what both the recorded preview and the catalog as it is now let go is removed.
        now = {v.backup.pk: v for v in decide_for(self.target.name, self.target.backup_dir)}
        lines = []
        for backup_id in sorted(planned):
            verdict = now.get(backup_id)
            if verdict is None:
                lines.append(f"#{backup_id}: already gone from the catalog")
                continue
            if verdict.keep:
                lines.append(f"#{backup_id} {verdict.backup.file_name}: kept after all ({'; '.join(verdict.reasons)})")
                continue
            lines.append(self._remove_one(verdict.backup))
        return "\n".join(lines) or "nothing to remove"

    def _remove_one(self, backup: Backup) -> str:
        directory = self.target.backup_dir
        dump = backup.path_in(directory)
        copy = portal_db_path(backup, directory)
        # The row goes only if the files went: a failure to delete rolls the row's deletion back.
        with transaction.atomic():
            Backup.objects.filter(pk=backup.pk).delete()
            try:
                if copy is not None:
                    copy.unlink(missing_ok=True)
                dump.unlink(missing_ok=True)
            except OSError as exc:
                raise OperationFailed(f"could not remove {dump.name}: {exc}; its catalog row is kept") from None
        return f"removed #{backup.pk} {dump.name}" + (f" and {copy.name}" if copy is not None else "")

    def recover(self, ctx: RunContext) -> list[str]:
        return ["nothing to undo: Neo4j was not touched, and each backup's files and row went together"]
