"""The record of store migrations (``operations/upgrades/registry.py``): one row per attempt, with its outcome.

alchemiscale keeps no such record itself (alchemiscale #168 asks for one); this is the portal's. At most one row per
migration and target may say APPLIED, which is what refuses a second run.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class MigrationOutcome(models.TextChoices):
    APPLIED = "applied", "applied"
    FAILED = "failed", "failed, store put back as it was"
    ROLLED_BACK = "rolled-back", "interrupted, then rolled back"
    INTERRUPTED = "interrupted", "interrupted: resume or roll back"


class AppliedMigration(models.Model):
    name = models.CharField(max_length=80, help_text="the registry's name, e.g. neo4j-4.4-to-5")
    target = models.CharField(max_length=40)
    outcome = models.CharField(max_length=20, choices=MigrationOutcome.choices)
    at = models.DateTimeField(default=timezone.now, db_index=True, help_text="when the attempt ended")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="store_migrations"
    )
    by_label = models.CharField(max_length=150, help_text="the staff user, or cli:<os user> for manage.py")
    run = models.ForeignKey(
        "operations.OperationRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="migration_records"
    )
    neo4j_before = models.CharField(max_length=40, blank=True)
    neo4j_after = models.CharField(max_length=40, blank=True)
    # Counts before/after, the command's output, what was put back: whatever the migration reports.
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["name", "target"], condition=Q(outcome="applied"), name="operations_migration_applied_once"
            ),
        ]
        permissions = [("run_store_migration", "Can migrate the state store (Neo4j upgrade, alchemiscale schema)")]

    def __str__(self) -> str:
        return f"{self.name} on {self.target}: {self.outcome}"
