"""Verify a catalogued backup: prove the dump restores, without touching the live store (docs/verification.md).

The file is hashed again and compared with the catalog; then it is loaded into a scratch store that belongs to
this run alone (the target's :meth:`~operations.targets.Target.scratch_dir`: its own home, data directory and
loopback ports locally), ``neo4j-admin database check`` runs on it, a scratch server started on it counts nodes and
relationships for comparison with the catalog, and the scratch is removed whatever happened. The live Neo4j is never
stopped, loaded or queried. The outcome (when, ok or failed, and why) is written on the backup's catalog row.

One run verifies one backup or several in turn (an admin action on many, ``manage.py verify-backup --all``): each
backup's steps carry its file name, a failure of one backup's step skips that backup's remaining checks but not the
next backup, and the run fails at the end, naming each backup that failed, when any did.

The run takes the target's one-active-run slot like any other: it runs neo4j-admin of the target's Neo4j, and
its dump must not be pruned or replaced while it reads it.
"""

from __future__ import annotations

import os
import shutil

from django.utils import timezone

from operations.models import Backup, BackupCopy, StepStatus
from operations.runs.contract import OperationFailed, Procedure, RunContext, Step

from .. import offsite, remote_manifest
from . import dumps


class VerifyProcedure(Procedure):
    kind = "verify"
    title = "Verify backups in a scratch Neo4j"
    permission = "operations.request_backup"  # verifying changes nothing live: whoever may back up may

    @property
    def backup_ids(self) -> list[int]:
        return [int(i) for i in self.params.get("backup_ids", [])]

    @property
    def from_offsite(self) -> bool:
        """Verify the off-site copy instead of the local dump: fetched (and decrypted) into the scratch directory,
        the monthly off-site drill (docs/offsite-encryption.md)."""
        return bool(self.params.get("from_offsite"))

    def backups(self) -> list[Backup]:
        found = {b.pk: b for b in Backup.objects.filter(pk__in=self.backup_ids, target=self.target.name)}
        missing = [i for i in self.backup_ids if i not in found]
        if missing or not self.backup_ids:
            raise OperationFailed(
                f"backup(s) {missing or self.backup_ids} are not in the catalog of target {self.target.name!r}"
            )
        return [found[i] for i in self.backup_ids]

    def validate(self) -> None:
        ours = self.target.neo4j_version()
        for backup in self.backups():
            try:
                backup.path_in(self.target.backup_dir)
            except ValueError as exc:
                raise OperationFailed(str(exc)) from None
            if self.from_offsite and not backup.copies.filter(state=BackupCopy.State.OK).exists():
                raise OperationFailed(f"backup {backup.file_name} has no good off-site copy to verify")
            if backup.neo4j_version.startswith("4."):
                raise OperationFailed(
                    f"backup {backup.file_name} was made by Neo4j {backup.neo4j_version}: only "
                    f"Neo4j 5 dumps can be verified"
                )
            if ours.split(".")[0] != backup.neo4j_version.split(".")[0]:
                raise OperationFailed(
                    f"backup {backup.file_name} was made by Neo4j {backup.neo4j_version}; this "
                    f"target's Neo4j is {ours}, which cannot load it"
                )

    # -- the plan ----------------------------------------------------------------------------------------------
    def staged(self):
        return self.target.scratch_dir() / "dump" / f"{self.target.connection.database}.dump"

    def load_args(self) -> list[str]:
        t = self.target
        return [
            "database",
            "load",
            t.connection.database,
            f"--from-path={t.scratch_path(self.staged().parent)}",
            "--overwrite-destination=true",
        ]

    def check_args(self) -> list[str]:
        t = self.target
        return [
            "database",
            "check",
            t.connection.database,
            f"--report-path={t.scratch_path(t.scratch_dir() / 'report')}",
        ]

    def steps(self) -> list[Step]:
        t = self.target
        scratch = t.scratch_dir()
        # Stored names (not the rows) so the plan can be rebuilt after a backup was pruned; the steps fail then.
        names = dict(Backup.objects.filter(pk__in=self.backup_ids).values_list("pk", "file_name"))
        steps = []
        for backup_id in self.backup_ids:

            def bound(fn, backup_id=backup_id):
                return lambda ctx: fn(ctx, backup_id)

            p = f"{names.get(backup_id, f'#{backup_id}')}: "
            steps += [
                Step(
                    p + "fetch the off-site copy",
                    bound(self.fetch),
                    f"download its off-site copy with rclone into {self.staged()} (a scratch directory), decrypting "
                    f"it when it is encrypted; its SHA-256 must equal the catalog's",
                    required=False,
                )
                if self.from_offsite
                else Step(
                    p + "re-hash the dump",
                    bound(self.rehash),
                    "the file's size and SHA-256 equal the catalog's; "
                    f"it is hard-linked as {self.staged()} (a scratch directory, never the live store)",
                    required=False,
                ),
                Step(
                    p + "load into a scratch store",
                    bound(self.load),
                    f"neo4j-admin loads the dump into the "
                    f"scratch store in {scratch}; the live Neo4j keeps running untouched",
                    commands=[t.scratch_admin_command(self.load_args())],
                    required=False,
                ),
                Step(
                    p + "check the scratch store",
                    bound(self.check),
                    "neo4j-admin database check: the store's consistency",
                    commands=[t.scratch_admin_command(self.check_args())],
                    required=False,
                ),
                Step(
                    p + "count nodes and relationships",
                    bound(self.count),
                    "a scratch server on the scratch store "
                    "(loopback, its own ports and a throwaway password) counts them, then stops; they must equal "
                    "the catalog's",
                    required=False,
                ),
                Step(
                    p + "remove the scratch",
                    lambda ctx: self.remove_scratch(ctx),
                    f"stop the scratch server if it runs, remove {scratch}",
                    required=False,
                ),
                Step(
                    p + "record the outcome",
                    bound(self.record),
                    "on the backup's catalog row: when, ok or failed, and why",
                    required=False,
                ),
            ]
        steps.append(Step("sum up", self.sum_up, "the run fails, naming them, when any backup failed"))
        steps.append(
            Step(
                "make sure the scratch is gone",
                self.remove_scratch,
                f"remove {scratch} if a step above could not",
                when="always",
            )
        )
        return steps

    # -- steps -----------------------------------------------------------------------------------------------
    def _failure(self, ctx: RunContext, backup_id: int) -> str | None:
        return ctx.state.get("failures", {}).get(str(backup_id))

    def _fail(self, ctx: RunContext, backup_id: int, reason: str) -> OperationFailed:
        ctx.remember(failures={**ctx.state.get("failures", {}), str(backup_id): reason})
        return OperationFailed(reason)

    def _inconclusive(self, ctx: RunContext, backup_id: int, reason: str) -> OperationFailed:
        """The check could not finish for a reason outside the backup (its tool or server was killed): the run
        fails saying so, and the backup keeps the verdict it had (a killed scratch server is no proof of a bad dump)."""
        reason = f"{reason} — the verification could not finish; the backup is not judged by it"
        ctx.remember(inconclusive={**ctx.state.get("inconclusive", {}), str(backup_id): reason})
        return self._fail(ctx, backup_id, reason)

    def _skip_if_failed(self, ctx: RunContext, backup_id: int) -> str | None:
        failure = self._failure(ctx, backup_id)
        return f"not run: an earlier check of this backup failed ({failure})" if failure else None

    def _backup(self, ctx: RunContext, backup_id: int) -> Backup:
        backup = Backup.objects.filter(pk=backup_id, target=self.target.name).first()
        if backup is None:
            raise self._fail(ctx, backup_id, f"backup #{backup_id} is no longer in the catalog")
        return backup

    def rehash(self, ctx: RunContext, backup_id: int) -> str:
        backup = self._backup(ctx, backup_id)
        try:
            path = backup.path_in(self.target.backup_dir)
        except ValueError as exc:
            raise self._fail(ctx, backup_id, str(exc)) from None
        if not path.is_file():
            raise self._fail(ctx, backup_id, f"the dump {path} is missing")
        size = path.stat().st_size
        if size != backup.size:
            raise self._fail(
                ctx, backup_id, f"{path} has {size} bytes, the catalog says {backup.size} (truncated or replaced)"
            )
        actual = dumps.sha256_of(path)
        if actual != backup.sha256:
            raise self._fail(
                ctx, backup_id, f"{path} is damaged: its SHA-256 is {actual}, the catalog says {backup.sha256}"
            )
        self.remove_scratch(ctx)
        staged = self.staged()
        staged.parent.mkdir(parents=True)
        (self.target.scratch_dir() / "report").mkdir()
        try:
            os.link(path, staged)
        except OSError:
            shutil.copyfile(path, staged)  # a file system without hard links
        return f"{path}: {size} bytes, SHA-256 {actual} as in the catalog\nstaged as {staged}"

    def fetch(self, ctx: RunContext, backup_id: int) -> str:
        backup = self._backup(ctx, backup_id)
        self.remove_scratch(ctx)
        staged = self.staged()
        staged.parent.mkdir(parents=True)
        (self.target.scratch_dir() / "report").mkdir()
        try:
            return offsite.fetch(backup, staged)
        except offsite.CopyError as exc:
            raise self._fail(
                ctx, backup_id, f"the off-site copy of {backup.file_name} cannot be fetched: {exc}"
            ) from None

    def _admin(self, ctx: RunContext, backup_id: int, args: list[str], what: str) -> str:
        ctx.log("$ " + " ".join(self.target.scratch_admin_command(args)))
        try:
            result = self.target.scratch_admin(args)
        except Exception as exc:
            raise self._fail(ctx, backup_id, f"{what}: {exc}") from None
        ctx.output(result.output)
        if not result.ok:
            tail = " ".join(result.output.strip().splitlines()[-3:])
            if result.killed_by_signal():
                raise self._inconclusive(ctx, backup_id, f"neo4j-admin {result.exit_description()}")
            raise self._fail(
                ctx, backup_id, f"{what}: neo4j-admin {result.exit_description()}" + (f": {tail}" if tail else "")
            )
        return f"neo4j-admin {' '.join(args[:2])} succeeded"

    def load(self, ctx: RunContext, backup_id: int) -> str:
        if skipped := self._skip_if_failed(ctx, backup_id):
            return skipped
        name = self._backup(ctx, backup_id).file_name
        return self._admin(ctx, backup_id, self.load_args(), f"{name} does not load")

    def check(self, ctx: RunContext, backup_id: int) -> str:
        if skipped := self._skip_if_failed(ctx, backup_id):
            return skipped
        name = self._backup(ctx, backup_id).file_name
        return self._admin(ctx, backup_id, self.check_args(), f"the store loaded from {name} is inconsistent")

    def count(self, ctx: RunContext, backup_id: int) -> str:
        if skipped := self._skip_if_failed(ctx, backup_id):
            return skipped
        backup = self._backup(ctx, backup_id)
        try:
            counted = self.target.scratch_counts()
        except Exception as exc:
            raise self._fail(ctx, backup_id, f"counting the loaded dump failed: {exc}") from None
        notes = ctx.state.get("notes", {})
        if counted is None:
            note = f"the {self.target.name} target cannot count a scratch store; counts not compared"
        elif backup.node_count is None or backup.relationship_count is None:
            note = (
                f"{counted[0]} nodes, {counted[1]} relationships; the catalog has no counts to compare with "
                f"(Neo4j was stopped when the backup was made)"
            )
        elif counted != (backup.node_count, backup.relationship_count):
            raise self._fail(
                ctx,
                backup_id,
                f"the loaded dump has {counted[0]} nodes and {counted[1]} "
                f"relationships; the catalog says {backup.node_count} and "
                f"{backup.relationship_count}",
            )
        else:
            note = f"{counted[0]} nodes and {counted[1]} relationships, as in the catalog"
        ctx.remember(notes={**notes, str(backup_id): note})
        return note

    def remove_scratch(self, ctx: RunContext) -> str:
        return "\n".join(self.target.clear_scratch()) or "nothing to remove"

    def record(self, ctx: RunContext, backup_id: int) -> str:
        failure = self._failure(ctx, backup_id)
        if failure is None:
            # A step that raised something unexpected (ERRORED) did not record a reason: its row says it failed.
            prefix = ctx.step.name.rsplit(": ", 1)[0] + ": " if ctx.step else "?"
            failed = (
                ctx.run.steps.filter(status=StepStatus.FAILED, name__startswith=prefix)
                .exclude(name__endswith="remove the scratch")
                .order_by("position")
                .first()
            )
            if failed is not None:
                failure = f"{failed.name} failed: " + " ".join(failed.output.strip().splitlines()[-3:])
                ctx.remember(failures={**ctx.state.get("failures", {}), str(backup_id): failure})
        if failure is None:
            outcome = Backup.Verification.OK
            detail = ("the off-site copy fetched; " if self.from_offsite else "") + (
                "SHA-256 as in the catalog; loaded into a scratch store; consistency check passed; "
                + ctx.state.get("notes", {}).get(str(backup_id), "")
            )
        elif str(backup_id) in ctx.state.get("inconclusive", {}):
            return f"not judged: {failure}"
        else:
            outcome, detail = Backup.Verification.FAILED, failure
        Backup.objects.filter(pk=backup_id).update(
            verified_at=timezone.now(), verification=outcome, verification_detail=detail, verified_by_run=ctx.run
        )
        manifests = remote_manifest.refresh_verification(Backup.objects.get(pk=backup_id))
        return "\n".join([f"{outcome}: {detail}", *manifests])

    def sum_up(self, ctx: RunContext) -> str:
        failures = ctx.state.get("failures", {})
        if failures:
            names = dict(Backup.objects.filter(pk__in=self.backup_ids).values_list("pk", "file_name"))
            raise OperationFailed(
                "; ".join(f"{names.get(int(i), f'#{i}')}: {reason}" for i, reason in failures.items())
            )
        return f"{len(self.backup_ids)} backup(s) verified"

    def recover(self, ctx: RunContext) -> list[str]:
        # Nothing live was touched: stop an orphaned neo4j-admin of the target, remove the scratch.
        return self.target.stop_admin() + self.target.clear_scratch() + ["the live Neo4j was not touched by this run"]
