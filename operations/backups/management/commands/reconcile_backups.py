from django.core.management.base import BaseCommand

from operations.targets import get_target

from ... import reconcile


class Command(BaseCommand):
    help = (
        "Set the backups directory and the catalog right again where they disagree: catalog complete dumps without "
        "a row (as found), move files named like dumps that are none into orphans/, remove half-done downloads and "
        "unfinished dumps, mark rows whose dump is gone (and that have no off-site copy) missing. Run it where the "
        "worker runs: it reads and changes the backups directory itself. --dry-run only lists."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list what disagrees; change nothing")

    def handle(self, *args, dry_run: bool, **options):
        lines = reconcile.reconcile(get_target(), dry_run=dry_run)
        for line in lines:
            self.stdout.write(line)
        if not lines:
            self.stdout.write("files and catalog agree")
        elif dry_run:
            self.stdout.write(f"dry run: {len(lines)} finding(s); nothing was changed")
