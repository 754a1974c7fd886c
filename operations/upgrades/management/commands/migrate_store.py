"""manage.py migrate-store: list, run, resume or roll back the state store's migrations (same code as the admin's
upgrade page: operations/upgrades/services.py)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from operations.runs.contract import OperationBusy, OperationFailed
from operations.runs.follow import carry_out, print_plan
from operations.runs.requests import cli_label
from operations.targets import get_target

from ... import registry, services, versions


class Command(BaseCommand):
    help = (
        "Migrate the alchemiscale state store: Neo4j 4.4 to 5 (data), alchemiscale v0.3 to v0.4 (schema), Neo4j "
        "5.x to 5.26 LTS and 5.26 to 2025.x; --list shows the Neo4j upgrade path."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?", help=f"the migration: {', '.join(registry.BY_NAME)}")
        parser.add_argument("--list", action="store_true", help="what applies to the store, with the prechecks")
        parser.add_argument("--plan", action="store_true", help="show the steps and commands; change nothing")
        parser.add_argument("--confirm", default=None, help="the migration's name again (asked for otherwise)")
        parser.add_argument("--resume", type=int, metavar="RUN", help="continue an interrupted migration run")
        parser.add_argument("--rollback", type=int, metavar="RUN", help="undo an interrupted migration run")
        parser.add_argument(
            "--here",
            action="store_true",
            help="carry the run out in this process instead of waiting for a Celery worker",
        )
        parser.add_argument("--timeout", type=float, default=3600, help="seconds to follow the run (default 3600)")

    def handle(self, *args, **opts):
        label = cli_label()
        target = get_target()
        if opts["list"] or (not opts["name"] and not opts["resume"] and not opts["rollback"]):
            return self.show(target, plan=False)
        send = not opts["here"]
        try:
            if opts["resume"]:
                run = services.resume(opts["resume"], user=None, label=label, target=target, send=send)
            elif opts["rollback"]:
                run = services.roll_back(opts["rollback"], user=None, label=label, target=target, send=send)
            else:
                migration = registry.get(opts["name"])
                if opts["plan"]:
                    return self.show(target, plan=True, only=migration.name)
                confirmation = opts["confirm"]
                if confirmation is None:
                    confirmation = input(f"This changes the state store. Type {migration.name} to go on: ")
                run = services.request_migration(
                    migration.name, confirmation=confirmation, user=None, label=label, target=target, send=send
                )
        except registry.UnknownMigration as exc:
            raise CommandError(exc.args[0]) from None
        except (OperationFailed, OperationBusy) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"requested {run.kind} run #{run.pk} on {run.target}")
        carry_out(run, self.stdout, self.stderr, here=opts["here"], wait=True, timeout=opts["timeout"])

    def show_path(self, target) -> None:
        try:
            current = target.neo4j_version()
        except Exception as exc:  # shown, not raised: the listing must help when the target is broken
            self.stdout.write(f"Neo4j upgrade path: unknown, the store's version cannot be read ({exc})")
            return
        self.stdout.write(f"Neo4j upgrade path: {current} -> {versions.newest(registry.hops())}")
        for i, step in enumerate(registry.upgrade_path(target, current), 1):
            hop = step.hop
            self.stdout.write(f"  {i}. {hop.name}: Neo4j {hop.neo4j_from} -> {hop.release} [{step.state}]")

    def show(self, target, plan: bool, only: str | None = None) -> None:
        self.stdout.write(f"target {target.name}: {target.describe()}")
        self.show_path(target)
        for st in registry.overview(target):
            if only and st.migration.name != only:
                continue
            mark = "applies" if st.applies else "does not apply"
            self.stdout.write(f"\n{st.migration.name} ({mark}): {st.migration.title}\n  {st.reason}")
            for check in st.prechecks:
                self.stdout.write(f"  [{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}")
            if plan:
                print_plan(st.steps, self.stdout)
        for run in services.interrupted_runs(target):
            self.stdout.write(
                f"\ninterrupted: {run.kind} run #{run.pk}: {run.error}\n  resume with --resume {run.pk}"
                f" or undo with --rollback {run.pk}"
            )
