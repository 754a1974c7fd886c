from django.apps import AppConfig


class UpgradesConfig(AppConfig):
    """Store migrations (Neo4j 4.4 -> 5, alchemiscale's schema): their registry, procedures and records."""

    name = "operations.upgrades"
    label = "upgrades"
    verbose_name = "Upgrades"

    def ready(self) -> None:
        # The migrations' procedures use models, so they are imported once the apps are ready.
        from ..runs import registry as procedures
        from . import registry, release_services  # noqa: F401  (release_services: registers its worker call)
        from .release_procedure import ReleaseUpgradeProcedure

        procedures.register(*(m.procedure for m in registry.MIGRATIONS))
        procedures.register(ReleaseUpgradeProcedure)
