from django.core.management.base import BaseCommand, CommandError

from operations import services
from operations.management.follow import carry_out


class Command(BaseCommand):
    help = "Back up the state store now (a Celery worker carries it out); waits and prints the steps."

    def add_arguments(self, parser):
        parser.add_argument("--no-wait", action="store_true", help="return once requested")
        parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait (default 3600)")
        parser.add_argument("--here", action="store_true",
                            help="carry the backup out in this process instead of a Celery worker")

    def handle(self, *args, no_wait: bool, timeout: float, here: bool, **options):
        if here and no_wait:
            raise CommandError("--here runs the backup in this process: it cannot also not wait")
        try:
            run = services.request_backup(None, label=services.cli_label(), send=not here)
        except (services.OperationBusy, services.OperationFailed) as exc:
            raise CommandError(f"backup refused: {exc}") from None
        self.stdout.write(f"backup #{run.pk} requested")
        run = carry_out(run, self.stdout, self.stderr, here=here, wait=not no_wait, timeout=timeout)
        if no_wait:
            return
        backup = run.backups_made.first()
        if backup is not None:
            self.stdout.write(f"{backup.file_name}: {backup.size} bytes, sha256 {backup.sha256}, "
                              f"{backup.node_count} nodes, {backup.relationship_count} relationships")
            self.stdout.write(f"{backup.portal_db_file}: {backup.portal_db_size} bytes, sha256 "
                              f"{backup.portal_db_sha256} (the portal's database)" if backup.portal_db_file
                              else "the portal's database was NOT copied: see the run's log")
