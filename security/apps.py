from django.apps import AppConfig
from django.core.checks import Tags, register

from .checks import staff_account_advice


class SecurityConfig(AppConfig):
    name = "security"
    verbose_name = "Staff account security"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import proof  # noqa: F401  (connects the login signal that records the password as a proof)

        # Advice for production only, so `check --deploy` gives it, as it gives Django's own security advice.
        register(staff_account_advice, Tags.security, deploy=True)
        # single sign-on: PORTAL_OIDC_ROLE_MAP names only roles that exist
        from . import oidc  # uses the models, importable only once the apps are ready

        register(oidc.role_map_errors, Tags.security)
