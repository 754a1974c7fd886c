from django.apps import AppConfig

from identities import unavailable

from .. import checks


class RunsConfig(AppConfig):
    """The run machinery: requests, the engine, recovery, worker calls, the roll call, the run log and the 503 page.
    It knows no procedure by name: the apps that own procedures register them (registry.py)."""

    name = "operations.runs"
    label = "runs"
    verbose_name = "Operation runs"

    def ready(self) -> None:
        # Importing these registers what they define (the "plan" and "request" worker calls, the checks' functions);
        # they use models, so not before the apps are ready.
        from . import checks as run_checks
        from . import overdue
        from . import requests as requests  # noqa: F401  (registers the worker calls)
        from .unavailable import explain  # the 503 page's words, also for manage.py identity

        unavailable.set_explainer(explain)
        checks.register("Celery workers", run_checks.check_workers, order=30)
        checks.register("Backups directory", run_checks.check_backup_dir, order=40)
        checks.register("Operations target", run_checks.check_target, order=50)
        checks.register("Operation runs", overdue.check_runs, order=60)
