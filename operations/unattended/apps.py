from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate

from .. import checks


class UnattendedConfig(AppConfig):
    """What runs with nobody watching: backup schedules, the beat scheduler, restore drills, alerts."""

    name = "operations.unattended"
    label = "unattended"
    verbose_name = "Unattended care"

    def ready(self) -> None:
        # These use models, so they are imported once the apps are ready.
        from . import status, system_checks  # noqa: F401  (system_checks registers its advice)
        from .schedules import ensure_default_schedules

        # post_migrate is sent only for apps with models: the schedules' rows come with the operations app's.
        post_migrate.connect(ensure_default_schedules, sender=apps.get_app_config("operations"))
        for order, (name, function) in enumerate(status.LINES, start=1):
            checks.register(name, function, order=10 * order, section="unattended")
