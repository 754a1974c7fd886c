from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "operations"
    verbose_name = "Operations"

    def ready(self) -> None:
        # The store migrations (operations/upgrades/) are procedures the runner must know in every process.
        from .upgrades.registry import register_procedures

        register_procedures()
