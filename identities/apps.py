from django.apps import AppConfig
from django.db.models.signals import post_migrate

IDENTITY_MANAGER_GROUP = "identity manager"


def ensure_identity_manager_group(sender, **kwargs) -> None:
    """Create the "identity manager" group with every identity right the first time; later edits are left alone."""
    from django.contrib.auth.models import Group, Permission

    from .models import IDENTITY_PERMISSIONS

    group, created = Group.objects.get_or_create(name=IDENTITY_MANAGER_GROUP)
    if created:
        codenames = [codename for codename, _ in IDENTITY_PERMISSIONS] + ["view_auditentry"]
        group.permissions.set(Permission.objects.filter(content_type__app_label="identities",
                                                        codename__in=codenames))


class IdentitiesConfig(AppConfig):
    name = "identities"
    verbose_name = "Identities (alchemiscale state store)"

    def ready(self) -> None:
        post_migrate.connect(ensure_identity_manager_group, sender=self)
