"""manage.py upgrade_release TAG: show alchemiscale's services, check and plan a release upgrade, run it, or resume
or roll back an interrupted one (same code as the release upgrade page: operations/upgrades/release_services.py)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from operations.models import RunStatus
from operations.runs.contract import OperationBusy, OperationFailed
from operations.runs.follow import carry_out, print_plan
from operations.runs.requests import cli_label

from ... import release_services


class Command(BaseCommand):
    help = "Upgrade the deployment's alchemiscale services to another release's image (backup first, health after)."

    def add_arguments(self, parser):
        parser.add_argument("tag", nargs="?", help="the new release's tag, e.g. v0.8.0 (or a full image reference)")
        parser.add_argument(
            "--plan", action="store_true", help="show the prechecks, steps and commands; change nothing"
        )
        parser.add_argument("--confirm", default=None, help="the tag again (asked for otherwise)")
        parser.add_argument("--resume", type=int, metavar="RUN", help="continue an interrupted release upgrade run")
        parser.add_argument("--rollback", type=int, metavar="RUN", help="put back an interrupted release upgrade run")
        parser.add_argument("--here", action="store_true", help="carry the run out in this process, not a worker")
        parser.add_argument("--timeout", type=float, default=3600, help="seconds to follow the run (default 3600)")

    def handle(self, *args, **opts):
        label, send, tag = cli_label(), not opts["here"], opts["tag"] or ""
        if not opts["resume"] and not opts["rollback"] and (opts["plan"] or not tag):
            return self.show(tag)
        try:
            if opts["resume"] or opts["rollback"]:
                how = "resume" if opts["resume"] else "rollback"
                run_id = opts["resume"] or opts["rollback"]
                run = release_services.follow_up(run_id, how, user=None, label=label, send=send)
            else:
                confirmation = opts["confirm"]
                if confirmation is None:
                    confirmation = input(f"This re-deploys alchemiscale's services. Type {tag} to go on: ")
                run = release_services.request_upgrade(
                    tag, confirmation=confirmation, user=None, label=label, send=send
                )
        except (OperationFailed, OperationBusy) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"requested {run.kind} run #{run.pk} on {run.target}")
        run = carry_out(run, self.stdout, self.stderr, here=opts["here"], wait=True, timeout=opts["timeout"])
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(f"run #{run.pk} {run.status}: {run.error.splitlines()[0] if run.error else ''}")

    def show(self, tag: str) -> None:
        found = release_services.overview(tag)
        if found.error:
            raise CommandError(found.error)
        for s in found.services:
            state = "running" if s["running"] else "stopped"
            self.stdout.write(f"{s['service']}: {s['container']} on {s['image']} ({state})")
        if found.missing:
            self.stdout.write(f"not found: {', '.join(found.missing)}")
        if found.others:
            self.stdout.write(f"left alone: {', '.join(found.others)}")
        if not tag:
            self.stdout.write("\ngive a tag (e.g. v0.8.0) to check and plan an upgrade")
            return
        self.stdout.write("")
        for check in found.prechecks:
            self.stdout.write(f"[{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}")
        print_plan(found.steps, self.stdout)
        for run in release_services.interrupted_runs():
            self.stdout.write(f"\ninterrupted: run #{run.pk}: {run.error}\n  --resume {run.pk} or --rollback {run.pk}")
