from django.apps import AppConfig
from django.db.models.signals import post_migrate

from . import checks


class OperationsConfig(AppConfig):
    """The records of every operation (models and migrations, label ``operations``) and the ground floor the nested
    apps stand on. The nested apps (runs, backups, upgrades, unattended, glance) come after it in INSTALLED_APPS."""

    name = "operations"
    verbose_name = "Operations"

    def ready(self) -> None:
        from security.roles import ensure_roles  # it imports auth's models: only once the apps are ready

        # Sent for this app, the last of the portal's apps with models, so every role's permissions exist by then.
        post_migrate.connect(ensure_roles, sender=self)
        checks.register("Neo4j", checks.check_neo4j, order=10)
        checks.register("Redis", checks.check_redis, order=20)
