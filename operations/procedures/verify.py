"""Verify a catalogued backup: prove the dump restores, without touching the live store (docs/verification.md).

The file is hashed again and compared with the catalog; then it is loaded into a scratch store that belongs to
this run alone (the target's :meth:`~operations.targets.Target.scratch_dir`: its own home, data directory and
loopback ports locally), ``neo4j-admin database check`` runs on it, a scratch server started on it counts nodes and
relationships for comparison with the catalog, and the scratch is removed whatever happened. The live Neo4j is never
stopped, loaded or queried. The outcome (when, ok or failed, and why) is written on the backup's catalog row.

The run takes the target's one-active-run slot like any other: it runs neo4j-admin of the target's Neo4j, and
its dump must not be pruned or replaced while it reads it.
"""

from __future__ import annotations

import os
import shutil

from django.utils import timezone

from ..models import Backup, StepStatus
from ..runner import OperationFailed, Procedure, RunContext, Step
from . import dumps


class VerifyProcedure(Procedure):
    kind = "verify"
    title = "Verify a backup in a scratch Neo4j"

    @property
    def backup(self) -> Backup:
        try:
            return Backup.objects.get(pk=self.params["backup_id"], target=self.target.name)
        except (Backup.DoesNotExist, KeyError):
            raise OperationFailed(f"backup {self.params.get('backup_id')!r} is not in the catalog of target "
                                  f"{self.target.name!r}") from None

    def validate(self) -> None:
        backup = self.backup
        try:
            backup.path_in(self.target.backup_dir)
        except ValueError as exc:
            raise OperationFailed(str(exc)) from None
        if backup.neo4j_version.startswith("4."):
            raise OperationFailed(f"backup {backup.file_name} was made by Neo4j {backup.neo4j_version}: only Neo4j 5 "
                                  f"dumps can be verified")
        ours = self.target.neo4j_version()
        if ours.split(".")[0] != backup.neo4j_version.split(".")[0]:
            raise OperationFailed(f"backup {backup.file_name} was made by Neo4j {backup.neo4j_version}; this "
                                  f"target's Neo4j is {ours}, which cannot load it")

    # -- the plan ----------------------------------------------------------------------------------------------
    def staged(self):
        return self.target.scratch_dir() / "dump" / f"{self.target.connection.database}.dump"

    def load_args(self) -> list[str]:
        t = self.target
        return ["database", "load", t.connection.database, f"--from-path={t.scratch_path(self.staged().parent)}",
                "--overwrite-destination=true"]

    def check_args(self) -> list[str]:
        t = self.target
        return ["database", "check", t.connection.database,
                f"--report-path={t.scratch_path(t.scratch_dir() / 'report')}"]

    def steps(self) -> list[Step]:
        t = self.target
        scratch = t.scratch_dir()
        return [
            Step("re-hash the dump", self.rehash, "the file's size and SHA-256 equal the catalog's; it is "
                 f"hard-linked as {self.staged()} (a scratch directory, never the live store)"),
            Step("load into a scratch store", self.load, f"neo4j-admin loads the dump into the scratch store in "
                 f"{scratch}; the live Neo4j keeps running untouched", commands=[t.scratch_admin_command(
                     self.load_args())]),
            Step("check the scratch store", self.check, "neo4j-admin database check: the store's consistency",
                 commands=[t.scratch_admin_command(self.check_args())]),
            Step("count nodes and relationships", self.count, "a scratch server on the scratch store (loopback, "
                 "its own ports and a throwaway password) counts them, then stops; they must equal the catalog's"),
            Step("remove the scratch", self.remove_scratch, f"stop the scratch server if it runs, remove {scratch}",
                 when="always"),
            Step("record the outcome", self.record, "on the backup's catalog row: when, ok or failed, and why",
                 when="always"),
        ]

    # -- steps -----------------------------------------------------------------------------------------------
    def _fail(self, ctx: RunContext, reason: str) -> OperationFailed:
        ctx.remember(failure=reason)
        return OperationFailed(reason)

    def rehash(self, ctx: RunContext) -> str:
        backup = self.backup
        path = backup.path_in(self.target.backup_dir)
        ctx.remember(file_name=backup.file_name)
        if not path.is_file():
            raise self._fail(ctx, f"the dump {path} is missing")
        size = path.stat().st_size
        if size != backup.size:
            raise self._fail(ctx, f"{path} has {size} bytes, the catalog says {backup.size} (truncated or replaced)")
        actual = dumps.sha256_of(path)
        if actual != backup.sha256:
            raise self._fail(ctx, f"{path} is damaged: its SHA-256 is {actual}, the catalog says {backup.sha256}")
        self.remove_scratch(ctx)
        staged = self.staged()
        staged.parent.mkdir(parents=True)
        (self.target.scratch_dir() / "report").mkdir()
        try:
            os.link(path, staged)
        except OSError:
            shutil.copyfile(path, staged)  # a file system without hard links
        return f"{path}: {size} bytes, SHA-256 {actual} as in the catalog\nstaged as {staged}"

    def _admin(self, ctx: RunContext, args: list[str], what: str) -> str:
        ctx.log("$ " + " ".join(self.target.scratch_admin_command(args)))
        result = self.target.scratch_admin(args)
        ctx.output(result.output)
        if not result.ok:
            tail = " ".join(result.output.strip().splitlines()[-3:])
            raise self._fail(ctx, f"{what}: neo4j-admin {result.exit_description()}" + (f": {tail}" if tail else ""))
        return f"neo4j-admin {' '.join(args[:2])} succeeded"

    def load(self, ctx: RunContext) -> str:
        return self._admin(ctx, self.load_args(), f"{self.backup.file_name} does not load")

    def check(self, ctx: RunContext) -> str:
        return self._admin(ctx, self.check_args(), f"the store loaded from {self.backup.file_name} is inconsistent")

    def count(self, ctx: RunContext) -> str:
        backup = self.backup
        counted = self.target.scratch_counts()
        if counted is None:
            ctx.remember(note=f"the {self.target.name} target cannot count a scratch store; counts not compared")
            return ctx.state["note"]
        nodes, rels = counted
        if backup.node_count is None or backup.relationship_count is None:
            ctx.remember(note=f"{nodes} nodes, {rels} relationships; the catalog has no counts to compare with "
                              f"(Neo4j was stopped when the backup was made)")
            return ctx.state["note"]
        if (nodes, rels) != (backup.node_count, backup.relationship_count):
            raise self._fail(ctx, f"the loaded dump has {nodes} nodes and {rels} relationships; the catalog says "
                                  f"{backup.node_count} and {backup.relationship_count}")
        ctx.remember(note=f"{nodes} nodes and {rels} relationships, as in the catalog")
        return ctx.state["note"]

    def remove_scratch(self, ctx: RunContext) -> str:
        return "\n".join(self.target.clear_scratch()) or "nothing to remove"

    def record(self, ctx: RunContext) -> str:
        failed = ctx.run.steps.filter(status=StepStatus.FAILED).exclude(name="remove the scratch").order_by(
            "position").first()
        if failed is None:
            outcome, detail = Backup.Verification.OK, (
                "SHA-256 as in the catalog; loaded into a scratch store; consistency check passed; "
                + ctx.state.get("note", ""))
        else:
            outcome = Backup.Verification.FAILED
            detail = ctx.state.get("failure") or (f"{failed.name} failed: "
                                                  + " ".join(failed.output.strip().splitlines()[-3:]))
        Backup.objects.filter(pk=self.params.get("backup_id")).update(
            verified_at=timezone.now(), verification=outcome, verification_detail=detail, verified_by_run=ctx.run)
        return f"{ctx.state.get('file_name', 'the backup')}: {outcome}: {detail}"

    def recover(self, ctx: RunContext) -> list[str]:
        # Nothing live was touched: stop an orphaned neo4j-admin of the target, remove the scratch.
        return self.target.stop_admin() + self.target.clear_scratch() + [
            "the live Neo4j was not touched by this run"]
