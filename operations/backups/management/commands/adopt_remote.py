from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ... import adopt, offsite


class Command(BaseCommand):
    help = (
        "Rebuild the catalog from the off-site remote alone (docs/offsite-encryption.md, 'The portal host is gone'): "
        "list the backups its manifests describe, check the stored bytes against them, and add those that match as "
        "off-site-only backups. --portal-db first puts back the newest portal database copy (encrypted copies need "
        "PORTAL_BACKUP_IDENTITY_FILE)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--remote", help="the rclone remote and directory (default: PORTAL_OFFSITE_REMOTE)")
        parser.add_argument("--target", help="whose backups (default: PORTAL_OPERATIONS_TARGET)")
        parser.add_argument("--dry-run", action="store_true", help="only list what the remote holds")
        parser.add_argument(
            "--portal-db",
            action="store_true",
            help="first replace the portal's database with the newest copy on the remote (every record it keeps)",
        )

    def handle(self, *args, remote: str | None, target: str | None, dry_run: bool, portal_db: bool, **options):
        remote = (remote or "").strip() or offsite.remote()
        if not remote:
            raise CommandError("no remote: give --remote or set PORTAL_OFFSITE_REMOTE")
        if dry_run and portal_db:
            raise CommandError("--dry-run changes nothing: it cannot also put back the portal database")
        work_dir = Path(settings.BACKUP_DIR) / ".adopting"
        try:
            lines = adopt.recover(
                remote, target or settings.OPERATIONS_TARGET, work_dir, portal_db=portal_db, dry_run=dry_run
            )
        except offsite.CopyError as exc:
            raise CommandError(str(exc)) from None
        for line in lines:
            self.stdout.write(line)
        if any("REFUSED" in line for line in lines) and not dry_run:
            self.stderr.write("some manifests were refused: their stored bytes do not match (see above)")
