"""Copy catalogued dumps off-site with rclone and check each copy's checksum (docs/offsite-copies.md).

A run of its own for old backups (the button on a backup's page, the admin action on many, ``manage.py copy-backup``)
and for failed copies beat retries; a new backup gets the same copy as its own last step (``copy_step``). Neo4j is
not touched; the run holds the target so no prune removes a dump while it is read. One backup's failure does not stop
the next; the run fails at the end naming each that failed, and every backup stays as good as it was.
"""

from __future__ import annotations

import functools

from django.conf import settings

from operations.models import Backup
from operations.runs.contract import OperationFailed, Procedure, RunContext, Step

from .. import offsite


def copy_one(ctx: RunContext, backup: Backup) -> str:
    try:
        copy = offsite.copy_backup(backup, ctx.target.backup_dir, ctx.run)
    except offsite.CopyError as exc:
        raise OperationFailed(f"{backup.file_name} was not copied off-site: {exc}") from None
    return f"copied to {copy.location}: {copy.checksum}\n{copy.detail}"


def copy_after_backup(ctx: RunContext, state_key: str = "backup_id") -> str:
    """The backup's last step (and the restore's safety backup's): copy the dump just catalogued (a failure leaves
    the backup good; beat retries)."""
    if not offsite.configured():
        return "off-site copies are off (PORTAL_OFFSITE_REMOTE is empty)"
    if state_key not in ctx.state:
        return "no backup was catalogued: nothing to copy"
    return copy_one(ctx, Backup.objects.get(pk=ctx.state[state_key]))


def copy_step(state_key: str = "backup_id", prefix: str = "") -> Step:
    return Step(
        f"{prefix}copy off-site",
        functools.partial(copy_after_backup, state_key=state_key),
        "copy the dump (encrypted with age to PORTAL_BACKUP_RECIPIENTS when set, with the portal database copy "
        "beside it) and its manifest with rclone to PORTAL_OFFSITE_REMOTE/<target>/ and check each copy's checksum; "
        "if this fails the backup still stands, the copy is marked failed and tried again later",
        required=False,
    )


class CopyProcedure(Procedure):
    kind = "copy"
    title = "Copy backups off-site"
    permission = "operations.request_backup"  # copying changes nothing live: whoever may back up may

    @property
    def backup_ids(self) -> list[int]:
        return [int(i) for i in self.params.get("backup_ids", [])]

    def validate(self) -> None:
        if not offsite.configured():
            raise OperationFailed(
                "no off-site remote is configured: set PORTAL_OFFSITE_REMOTE (docs/offsite-copies.md)"
            )
        found = set(Backup.objects.filter(pk__in=self.backup_ids, target=self.target.name).values_list("pk", flat=True))
        missing = [i for i in self.backup_ids if i not in found]
        if missing or not self.backup_ids:
            raise OperationFailed(
                f"backup(s) {missing or self.backup_ids} are not in the catalog of target {self.target.name!r}"
            )

    def steps(self) -> list[Step]:
        names = dict(Backup.objects.filter(pk__in=self.backup_ids).values_list("pk", "file_name"))
        steps = []
        for backup_id in self.backup_ids:
            steps.append(
                Step(
                    f"{names.get(backup_id, f'#{backup_id}')}: copy off-site",
                    functools.partial(self.copy, backup_id=backup_id),
                    f"rclone copyto {self.target.backup_dir}/<file> {settings.OFFSITE_REMOTE or '<remote>'}/"
                    f"{self.target.name}/<file>, then compare the remote's checksum with the dump's",
                    required=False,
                )
            )
        steps.append(Step("sum up", self.sum_up, "the run fails, naming them, when any copy failed"))
        return steps

    def copy(self, ctx: RunContext, backup_id: int) -> str:
        backup = Backup.objects.filter(pk=backup_id, target=self.target.name).first()
        try:
            if backup is None:
                raise OperationFailed(f"backup #{backup_id} is no longer in the catalog")
            return copy_one(ctx, backup)
        except OperationFailed as exc:
            ctx.remember(failures={**ctx.state.get("failures", {}), str(backup_id): str(exc)})
            raise

    def sum_up(self, ctx: RunContext) -> str:
        failures = ctx.state.get("failures", {})
        if failures:
            raise OperationFailed("; ".join(failures.values()))
        return f"{len(self.backup_ids)} backup(s) copied off-site"

    def recover(self, ctx: RunContext) -> list[str]:
        return ["nothing to undo: Neo4j was not touched; a copy cut short is copied again when asked or retried"]
