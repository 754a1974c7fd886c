import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alchemiscale_portal.settings")

app = Celery("alchemiscale_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every worker re-sends the messages of pending runs the broker lost (docs/runs.md).
from operations.runs.sweep import PendingRunSweep  # noqa: E402  (needs the app configured first)

app.steps["worker"].add(PendingRunSweep)
