"""The fleet lives in Neo4j; the portal's database carries the permissions to look at it and to act on it, and the
record of every action taken."""

from __future__ import annotations

from django.db import models


class FleetRights(models.Model):
    """Holds the fleet's permissions (the operator role has both: security/roles.py); there is no table."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = (
            ("view_fleet", "Can view compute services, managers and tasks"),
            ("manage_fleet", "Can expire stale compute registrations and clear a manager's ERROR"),
        )


class FleetAuditEntry(models.Model):
    """One change the portal made to the fleet's state in Neo4j: who, when, what, and exactly what it changed."""

    class Action(models.TextChoices):
        EXPIRE_STALE = "expire-stale", "stale registrations expired"
        CLEAR_MANAGER_ERROR = "clear-manager-error", "manager's ERROR cleared"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_kind = models.CharField(max_length=8)
    actor = models.CharField(max_length=150, help_text="staff username, or the OS user who ran manage.py")
    action = models.CharField(max_length=24, choices=Action.choices, db_index=True)
    #: what was removed (registrations, a manager) and which tasks went back to waiting
    changed = models.JSONField(default=dict)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        default_permissions = ("view",)
        verbose_name = "fleet audit entry"
        verbose_name_plural = "fleet audit log"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action}"


class FleetSample(models.Model):
    """The fleet's figures at one moment, taken every few minutes by the sampler (compute/history.py) and kept for
    ``PORTAL_COMPUTE_HISTORY_DAYS`` (30): the dashboard's charts of tasks by status and throughput over time."""

    at = models.DateTimeField(db_index=True)
    #: {status: count} over every task of the store
    tasks = models.JSONField(default=dict)
    #: {alive|stale|denied: count}
    services = models.JSONField(default=dict)
    #: results uploaded within the hour before ``at``
    results_ok = models.PositiveIntegerField(default=0)
    results_failed = models.PositiveIntegerField(default=0)
    stale_claims = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["at"]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"fleet at {self.at:%Y-%m-%d %H:%M}"
