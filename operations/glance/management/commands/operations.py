from django.core.management.base import BaseCommand, CommandError

from operations.backups import offsite
from operations.models import Backup, OperationRun
from operations.runs import requests as run_requests
from operations.runs.contract import OperationFailed
from operations.runs.follow import describe
from operations.unattended.drills import drill_status


class Command(BaseCommand):
    help = (
        "List operation runs (newest first), show one run's steps and log, list the backup catalog, or "
        "`cancel RUN_ID` a pending run."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", nargs="?", choices=["cancel"], help="cancel RUN_ID: end a pending run")
        parser.add_argument("run_id", nargs="?", type=int, metavar="RUN_ID")
        parser.add_argument("--limit", type=int, default=20)
        parser.add_argument("--show", type=int, metavar="RUN_ID", help="one run's steps, output and log")
        parser.add_argument("--backups", action="store_true", help="the backup catalog instead")

    def handle(
        self, *args, action: str | None, run_id: int | None, limit: int, show: int | None, backups: bool, **options
    ):
        if action == "cancel":
            if run_id is None:
                raise CommandError("which run? `manage.py operations cancel RUN_ID`")
            try:
                run = run_requests.cancel_run(run_id, None, label=run_requests.cli_label())
            except OperationFailed as exc:
                raise CommandError(f"not cancelled: {exc}") from None
            self.stdout.write(f"{run.kind} #{run.pk} cancelled; no step had run")
            return
        if backups:
            for b in Backup.objects.select_related("verified_by_run").prefetch_related("copies")[:limit]:
                self.stdout.write(
                    f"{b.pk:>5} {b.file_name} {b.created_at:%Y-%m-%d %H:%M:%S} {b.size} bytes "
                    f"{b.node_count} nodes {b.relationship_count} rels Neo4j {b.neo4j_version} "
                    f"{b.purpose} ({b.procedure}) by {b.requested_by_label} sha256 {b.sha256}"
                )
                self.stdout.write(
                    f"      portal database copy: {b.portal_db_file} {b.portal_db_size} bytes sha256 "
                    f"{b.portal_db_sha256}"
                    if b.portal_db_file
                    else "      portal database copy: none"
                )
                verified = (
                    f"{b.get_verification_display()} at {b.verified_at:%Y-%m-%d %H:%M:%S} UTC by "
                    f"{b.verified_by_run.requested_by_label if b.verified_by_run else 'a run since removed'}"
                    f": {b.verification_detail}"
                    if b.verified_at
                    else "never verified"
                )
                self.stdout.write(f"      verification: {verified}")
                self.stdout.write(f"      off-site: {offsite.summary(b)}")
            self.stdout.write(f"restore drill: {drill_status()[1]}")
            return
        if show is not None:
            shown = OperationRun.objects.filter(pk=show).first()
            if shown is None:
                raise CommandError(f"no operation run #{show}")
            run = shown
            self.stdout.write(describe(run))
            if run.error:
                self.stdout.write(f"error: {run.error}")
            for step in run.steps.order_by("position"):
                self.stdout.write(f"  {step.position}. {step.name}: {step.status}")
                for line in step.output.splitlines()[-5:]:
                    self.stdout.write(f"       {line}")
            for entry in run.log:
                self.stdout.write(f"{entry['at']} {entry['level']} {entry['message']}")
            return
        runs = OperationRun.objects.all()[:limit]
        if not runs:
            self.stdout.write("no operation runs yet")
        for run in runs:
            self.stdout.write(describe(run))
