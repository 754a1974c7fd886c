from django.core.management.base import BaseCommand, CommandError

from operations.runs import contract
from operations.runs import requests as run_requests
from operations.runs.follow import carry_out, print_plan

from ... import services


class Command(BaseCommand):
    help = "Back up the state store now (a Celery worker carries it out); waits and prints the steps."

    def add_arguments(self, parser):
        parser.add_argument("--no-wait", action="store_true", help="return once requested")
        parser.add_argument(
            "--ignore-free-space",
            action="store_true",
            help="dump even when the backups directory has less room than the dump is expected "
            "to need (refused otherwise)",
        )
        parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait (default 3600)")
        parser.add_argument(
            "--dry-run", action="store_true", help="show the steps, exact commands and expected outage; change nothing"
        )
        parser.add_argument(
            "--here", action="store_true", help="carry the backup out in this process instead of a Celery worker"
        )

    def handle(self, *args, no_wait: bool, timeout: float, here: bool, ignore_free_space: bool = False, **options):
        if options.get("dry_run"):
            self.stdout.write("A backup would carry out these steps:")
            print_plan(services.preview_backup(), self.stdout)
            return
        if here and no_wait:
            raise CommandError("--here runs the backup in this process: it cannot also not wait")
        try:
            run = services.request_backup(
                None, label=run_requests.cli_label(), send=not here, ignore_free_space=ignore_free_space
            )
        except (contract.OperationBusy, contract.OperationFailed) as exc:
            raise CommandError(f"backup refused: {exc}") from None
        self.stdout.write(f"backup #{run.pk} requested")
        run = carry_out(run, self.stdout, self.stderr, here=here, wait=not no_wait, timeout=timeout)
        if no_wait:
            return
        backup = run.backups_made.first()
        if backup is not None:
            counts = (
                f"{backup.node_count} nodes, {backup.relationship_count} relationships"
                if backup.node_count is not None
                else "no counts (Neo4j was not running)"
            )
            self.stdout.write(f"{backup.file_name}: {backup.size} bytes, sha256 {backup.sha256}, {counts}")
            self.stdout.write(
                f"{backup.portal_db_file}: {backup.portal_db_size} bytes, sha256 "
                f"{backup.portal_db_sha256} (the portal's database)"
                if backup.portal_db_file
                else "the portal's database was NOT copied: see the run's log"
            )
        if run.state.get("neo4j_crashed"):
            self.stdout.write(
                f"WARNING: Neo4j had crashed before this backup ({run.state['neo4j_crashed']}); it was "
                f"started again (recovering the store) before the dump and runs again after it"
            )
