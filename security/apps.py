from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "security"
    verbose_name = "Staff account security"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import proof  # noqa: F401  (connects the login signal that records the password as a proof)
