from django.apps import AppConfig


class IdentitiesConfig(AppConfig):
    name = "identities"
    verbose_name = "Identities (alchemiscale state store)"

    def ready(self) -> None:
        from . import connection

        connection.install()
