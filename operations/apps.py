from django.apps import AppConfig
from django.db.models.signals import post_migrate


class OperationsConfig(AppConfig):
    name = "operations"
    verbose_name = "Operations"

    def ready(self) -> None:
        from security.roles import ensure_roles

        # The store migrations (operations/upgrades/) are procedures the runner must know in every process.
        from .upgrades.registry import register_procedures

        register_procedures()
        # Sent for this app, the last of the portal's apps, so every role's permissions exist by then.
        post_migrate.connect(ensure_roles, sender=self)
        from .schedules import ensure_default_schedules

        post_migrate.connect(ensure_default_schedules, sender=self)
        from . import system_checks  # noqa: F401  (registers the settings advice; it needs the models, hence here)
