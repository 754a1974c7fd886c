from django.core.management.base import BaseCommand, CommandError

from ... import alerts


class Command(BaseCommand):
    help = (
        "Open alerts for new problems and resolve cleared ones now, as beat's 'alerts sweep' does every minute; "
        "prints what changed. --test sends a test message on every configured channel instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("--test", action="store_true", help="send a test message to every configured channel")

    def handle(self, *args, test: bool, **options):
        if test:
            results = alerts.send_test()
            for r in results:
                state = "ok" if r["ok"] else f"FAILED: {r['error']}"
                self.stdout.write(f"{r['channel']} {r['to']}: {state}".replace("  ", " "))
            if not all(r["ok"] for r in results):
                raise CommandError("the test alert did not reach every channel (or there is none)")
            return
        result = alerts.sweep()
        for event, rows in result.items():
            for alert in rows:
                self.stdout.write(f"{event}: {alert.subject}")
        if not any(result.values()):
            self.stdout.write("no change")
