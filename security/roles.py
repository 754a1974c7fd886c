"""The staff roles the portal sets up as Django groups: which permissions each one holds.

Give a staff user a role by adding them to its group (Authentication > Users). Superusers hold every permission.
After every ``migrate`` each group holds at least its permissions below (missing ones are added, extra ones that
staff granted are kept); for a narrower role, make a group of your own.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

IDENTITY_MANAGER = "identity manager"
OPERATOR = "operator"
RESTORER = "restorer"

_IDENTITIES = [
    "identities." + c
    for c in (
        "view_identity",
        "add_identity",
        "change_identity",
        "delete_identity",
        "rotate_identity_key",
        "disable_identity",
        "view_auditentry",
    )
]
_OPERATIONS = [
    "operations." + c for c in ("view_operationrun", "view_backup", "request_backup", "view_appliedmigration")
]
# Operators run the unattended side too: schedules, retention, alerts (docs/unattended.md).
_OPERATIONS += [
    "operations." + c
    for c in (
        "view_backupschedule",
        "add_backupschedule",
        "change_backupschedule",
        "delete_backupschedule",
        "view_retentionpolicy",
        "change_retentionpolicy",
        "prune_backups",
        "view_alert",
        "view_alertsettings",
        "change_alertsettings",
    )
]

# Operators also look after the fleet: compute services, managers, tasks, and the two actions (docs/compute.md).
_OPERATIONS += ["compute.view_fleet", "compute.manage_fleet", "compute.view_fleetauditentry"]

# Restorers also move alchemiscale to another release and tell its users (docs/upgrades.md): the records of both.
_RELEASES = ["operations.view_releaseupgrade", "operations.view_releasenotice"]

ROLES: dict[str, list[str]] = {
    # identities and scopes in the state store, and their audit log
    IDENTITY_MANAGER: _IDENTITIES,
    # sees operation runs and backups, may request a backup (not destructive)
    OPERATOR: _OPERATIONS,
    # an operator who may also replace the store: restore a backup, run store migrations
    RESTORER: _OPERATIONS + ["operations.restore_backup", "operations.run_store_migration"] + _RELEASES,
}


def ensure_roles(**kwargs) -> None:
    """post_migrate: create the groups and add any permission of theirs they lack."""
    for name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = [tuple(p.split(".", 1)) for p in perms]
        found = [
            p
            for p in Permission.objects.filter(content_type__app_label__in={a for a, _ in wanted}).select_related(
                "content_type"
            )
            if (p.content_type.app_label, p.codename) in wanted
        ]
        group.permissions.add(*found)
