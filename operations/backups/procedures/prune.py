"""Prune: decide which backups the retention policy lets go (recorded, with reasons), then remove each one's files
and catalog row together; then the same for off-site copies, by their own policy (docs/offsite-copies.md). A backup
whose local dump goes while an off-site copy stays keeps its catalog row (a restore fetches the copy); the row goes
with its last copy. Neo4j is not touched; the run holds the target so no backup or restore runs meanwhile."""

from __future__ import annotations

from django.db import transaction

from operations.models import Backup, BackupCopy
from operations.runs.contract import OperationFailed, Procedure, RunContext, Step

from .. import offsite
from ..retention import decide_copies_for, decide_for, portal_db_path


class PruneProcedure(Procedure):
    kind = "prune"
    title = "Prune old backups by the retention policy"
    permission = "operations.prune_backups"

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
                f"portal database copy in {self.target.backup_dir} and its catalog row together (the row stays while "
                f"an off-site copy does)",
            ),
            Step(
                "off-site: decide which copies go",
                self.preview_copies,
                "which off-site copies go and which stay, and why, by the off-site policy (the newest copy and that "
                "of a backup a run uses always stay)",
            ),
            Step(
                "off-site: remove copies",
                self.remove_copies,
                "for each copy that goes: rclone deletefile, then its row; a backup without local dump or copy left "
                "leaves the catalog; uploads that died midway (<dump>.partial-<random>) are removed",
                required=False,
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
        offsite_only = backup.copies.filter(state=BackupCopy.State.OK).exists()
        # The row goes only if the files went: a failure to delete rolls the row's deletion back.
        with transaction.atomic():
            if not offsite_only:
                Backup.objects.filter(pk=backup.pk).delete()
            try:
                if copy is not None:
                    copy.unlink(missing_ok=True)
                dump.unlink(missing_ok=True)
            except OSError as exc:
                raise OperationFailed(f"could not remove {dump.name}: {exc}; its catalog row is kept") from None
        return (
            f"removed #{backup.pk} {dump.name}"
            + (f" and {copy.name}" if copy is not None else "")
            + ("; its catalog row stays for its off-site copy" if offsite_only else "")
        )

    def preview_copies(self, ctx: RunContext) -> str:
        verdicts = decide_copies_for(self.target.name)
        ctx.remember(copy_plan=[v.as_dict() for v in verdicts])
        return "\n".join(v.line() for v in verdicts) or "no off-site copies"

    def remove_copies(self, ctx: RunContext) -> str:
        try:
            partials = offsite.remove_partials(self.target.name)
        except offsite.CopyError as exc:  # the remote is away: the copies' own removal below says so if it matters
            partials = [f"partial uploads not looked for: {exc}"]
        planned = {entry["id"] for entry in ctx.state.get("copy_plan", []) if not entry["keep"]}
        if not planned:
            return "\n".join([*partials, "nothing to remove"])
        now = {v.copy.pk: v for v in decide_copies_for(self.target.name)}
        lines, failed = partials, []
        for copy_id in sorted(planned):
            verdict = now.get(copy_id)
            if verdict is None or verdict.keep:
                lines.append(f"off-site copy #{copy_id}: kept after all or already gone")
                continue
            backup = verdict.copy.backup
            try:
                lines.append(offsite.delete(verdict.copy))
            except offsite.CopyError as exc:
                failed.append(f"{verdict.copy.location}: {exc}")
                continue
            if not backup.copies.exists() and not backup.path_in(self.target.backup_dir).is_file():
                removed = self._remove_one(backup)
                lines.append(f"{removed} from the catalog (neither its dump nor a copy is left)")
        if failed:
            raise OperationFailed(
                "\n".join(lines + ["not removed (tried again at the next prune): " + "; ".join(failed)])
            )
        return "\n".join(lines)

    def recover(self, ctx: RunContext) -> list[str]:
        return ["nothing to undo: Neo4j was not touched, and each backup's files and row went together"]
