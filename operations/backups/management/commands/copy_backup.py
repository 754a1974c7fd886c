from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from operations.models import Backup, BackupCopy
from operations.runs import contract
from operations.runs import requests as run_requests
from operations.runs.follow import backups_named, carry_out
from operations.targets import get_target

from ... import offsite, services


class Command(BaseCommand):
    help = (
        "Copy backups to the off-site remote (PORTAL_OFFSITE_REMOTE) with rclone and check each copy's checksum "
        "(docs/offsite-copies.md). One run for all that are named; --all: every backup of the target whose dump is "
        "here and that has no good copy on the remote yet."
    )

    def add_arguments(self, parser):
        parser.add_argument("backups", nargs="*", metavar="NAME|ID", help="file names or catalog ids")
        parser.add_argument("--all", action="store_true", help="every backup not yet copied to the remote")
        parser.add_argument("--no-wait", action="store_true", help="return once requested")
        parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait (default 3600)")
        parser.add_argument("--here", action="store_true", help="copy in this process instead of a Celery worker")

    def handle(self, *args, backups: list[str], all: bool, no_wait: bool, timeout: float, here: bool, **options):
        if here and no_wait:
            raise CommandError("--here copies in this process: it cannot also not wait")
        if all == bool(backups):
            raise CommandError("name backups (file name or id), or give --all")
        if not offsite.configured():
            raise CommandError("no off-site remote is configured: set PORTAL_OFFSITE_REMOTE (docs/offsite-copies.md)")
        if all:
            target = get_target()
            chosen = [
                b
                for b in Backup.objects.filter(target=settings.OPERATIONS_TARGET)
                .exclude(copies__remote=offsite.remote(), copies__state=BackupCopy.State.OK)
                .order_by("created_at", "pk")
                if b.path_in(target.backup_dir).is_file()
            ]
            if not chosen:
                self.stdout.write("every backup here has a good copy on the remote already")
                return
        else:
            chosen = backups_named(backups)
        try:
            run = services.request_copy(chosen, None, label=run_requests.cli_label(), send=not here)
        except (contract.OperationBusy, contract.OperationFailed) as exc:
            raise CommandError(f"copy refused: {exc}") from None
        self.stdout.write(f"copy #{run.pk} of {len(chosen)} backup(s) requested")
        try:
            run = carry_out(run, self.stdout, self.stderr, here=here, wait=not no_wait, timeout=timeout)
        finally:
            if not no_wait:
                for backup in Backup.objects.filter(pk__in=[b.pk for b in chosen]).order_by("created_at", "pk"):
                    self.stdout.write(f"{backup.file_name}: off-site {offsite.summary(backup)}")
