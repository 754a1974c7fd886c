from django.core.management.base import BaseCommand

from ... import alerts


class Command(BaseCommand):
    help = (
        "Open alerts for new problems and resolve cleared ones now, as beat's 'alerts sweep' does every minute; "
        "prints what changed."
    )

    def handle(self, *args, **options):
        result = alerts.sweep()
        for event, rows in result.items():
            for alert in rows:
                self.stdout.write(f"{event}: {alert.subject}")
        if not any(result.values()):
            self.stdout.write("no change")
