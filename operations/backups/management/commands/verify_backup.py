from django.core.management.base import BaseCommand, CommandError

from operations.models import Backup
from operations.runs import contract
from operations.runs import requests as run_requests
from operations.runs.follow import backups_named, carry_out

from ... import services


class Command(BaseCommand):
    help = (
        "Verify backups: re-hash each dump, load it into a scratch Neo4j, check it and compare its counts with the "
        "catalog (the live Neo4j is not touched; docs/verification.md). One run for all that are named."
    )

    def add_arguments(self, parser):
        parser.add_argument("backups", nargs="*", metavar="NAME|ID", help="file names or catalog ids")
        parser.add_argument("--all", action="store_true", help="every backup in the catalog of the target")
        parser.add_argument("--no-wait", action="store_true", help="return once requested")
        parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait (default 3600)")
        parser.add_argument(
            "--here", action="store_true", help="carry the verification out in this process instead of a Celery worker"
        )

    def handle(self, *args, backups: list[str], all: bool, no_wait: bool, timeout: float, here: bool, **options):
        if here and no_wait:
            raise CommandError("--here runs the verification in this process: it cannot also not wait")
        if all == bool(backups):
            raise CommandError("name backups (file name or id), or give --all")
        if all:
            from django.conf import settings

            chosen = list(Backup.objects.filter(target=settings.OPERATIONS_TARGET).order_by("created_at", "pk"))
            if not chosen:
                raise CommandError("the catalog has no backups to verify")
        else:
            chosen = backups_named(backups)
        try:
            run = services.request_verify(chosen, None, label=run_requests.cli_label(), send=not here)
        except (contract.OperationBusy, contract.OperationFailed) as exc:
            raise CommandError(f"verification refused: {exc}") from None
        self.stdout.write(f"verify #{run.pk} of {len(chosen)} backup(s) requested")
        try:
            run = carry_out(run, self.stdout, self.stderr, here=here, wait=not no_wait, timeout=timeout)
        finally:
            if not no_wait:
                for backup in Backup.objects.filter(pk__in=[b.pk for b in chosen]).order_by("created_at", "pk"):
                    self.stdout.write(
                        f"{backup.file_name}: {backup.get_verification_display()}"
                        + (f": {backup.verification_detail}" if backup.verification_detail else "")
                    )
