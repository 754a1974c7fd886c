from django.core.management.base import BaseCommand, CommandError

from operations.models import Backup
from operations.runs import contract
from operations.runs import requests as run_requests
from operations.runs.follow import carry_out, print_plan
from operations.targets import get_target

from ... import services


class Command(BaseCommand):
    help = (
        "Restore the state store from a catalogued backup (file name or id). Shows what will be replaced and "
        "the exact steps, then asks for the database name (or give it with --confirm)."
    )

    def add_arguments(self, parser):
        parser.add_argument("backup", help="file name (neo4j-....dump) or catalog id")
        parser.add_argument("--confirm", metavar="DATABASE", help="the database name, typed in advance")
        parser.add_argument("--no-wait", action="store_true")
        parser.add_argument(
            "--dry-run", action="store_true", help="show what would be replaced and the steps; change nothing"
        )
        parser.add_argument("--timeout", type=float, default=3600)
        parser.add_argument(
            "--here", action="store_true", help="carry the restore out in this process instead of a Celery worker"
        )

    def handle(self, *args, backup: str, confirm: str | None, no_wait: bool, timeout: float, here: bool, **options):
        if here and no_wait:
            raise CommandError("--here runs the restore in this process: it cannot also not wait")
        found = Backup.objects.filter(file_name=backup).first()
        if found is None and backup.isascii() and backup.isdigit():  # "²" is a digit to isdigit, not to int
            found = Backup.objects.filter(pk=int(backup)).first()
        if found is None:
            raise CommandError(f"no backup {backup!r} in the catalog; `manage.py operations --backups` lists them")
        target = get_target(found.target)
        try:
            plan = services.preview_restore(found, target)
        except contract.OperationFailed as exc:
            raise CommandError(f"restore refused: {exc}") from None
        counts = services.store_counts(target)
        now = f"{counts[0]} nodes and {counts[1]} relationships" if counts else "unknown counts (Neo4j does not answer)"
        self.stdout.write(
            f"This replaces database {target.connection.database!r} on {target.describe()} ({now}) "
            f"with {found.file_name} ({found.node_count} nodes, {found.relationship_count} "
            f"relationships). Steps:"
        )
        print_plan(plan, self.stdout)
        if options.get("dry_run"):
            return
        if confirm is None:
            confirm = input(f"Type the database name ({target.connection.database}) to confirm: ").strip()
        try:
            run = services.request_restore(
                found, confirm, None, label=run_requests.cli_label(), target=target, send=not here
            )
        except (contract.OperationBusy, contract.OperationFailed) as exc:
            raise CommandError(f"restore refused: {exc}") from None
        self.stdout.write(f"restore #{run.pk} requested")
        carry_out(run, self.stdout, self.stderr, here=here, wait=not no_wait, timeout=timeout)
