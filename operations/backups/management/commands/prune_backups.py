from django.core.management.base import BaseCommand, CommandError

from operations.runs import contract
from operations.runs import requests as run_requests
from operations.runs.follow import carry_out
from operations.targets import get_target

from ... import retention, services


class Command(BaseCommand):
    help = (
        "Prune old backups by the retention policy (a Celery worker carries it out; the run records which went "
        "and why). --dry-run only prints what would go and what stays, and why."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="print the verdicts; remove nothing")
        parser.add_argument("--no-wait", action="store_true", help="return once requested")
        parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait (default 3600)")
        parser.add_argument("--here", action="store_true", help="carry the prune out in this process")

    def handle(self, *args, dry_run: bool, no_wait: bool, timeout: float, here: bool, **options):
        if dry_run:
            target = get_target()
            verdicts = retention.decide_for(target.name, target.backup_dir)
            for verdict in verdicts:
                self.stdout.write(verdict.line())
            going = sum(1 for v in verdicts if not v.keep)
            copies = retention.decide_copies_for(target.name)
            for copy_verdict in copies:
                self.stdout.write(copy_verdict.line())
            copies_going = sum(1 for v in copies if not v.keep)
            self.stdout.write(
                f"dry run: {going} of {len(verdicts)} backup(s) and {copies_going} of {len(copies)} off-site "
                f"copies would go; nothing was removed"
            )
            return
        if here and no_wait:
            raise CommandError("--here runs the prune in this process: it cannot also not wait")
        try:
            run = services.request_prune(None, label=run_requests.cli_label(), send=not here)
        except (contract.OperationBusy, contract.OperationFailed) as exc:
            raise CommandError(f"prune refused: {exc}") from None
        self.stdout.write(f"prune #{run.pk} requested")
        run = carry_out(run, self.stdout, self.stderr, here=here, wait=not no_wait, timeout=timeout)
        if not no_wait:
            for line in run.steps.get(position=2).output.splitlines():
                self.stdout.write(f"  {line}")
