from django.apps import AppConfig


class IdentitiesConfig(AppConfig):
    name = "identities"
    verbose_name = "Identities (alchemiscale state store)"

    def ready(self) -> None:
        from . import connection  # installs neomodel's connection: only once the settings are loaded

        connection.install()
