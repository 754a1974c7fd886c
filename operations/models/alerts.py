"""Alerts: what staff are told about (one row per problem, from when it opened until it cleared), and where to
(docs/unattended.md)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class AlertSettings(models.Model):
    recipients = models.TextField(
        blank=True, help_text="e-mail addresses, one per line or comma-separated (PORTAL_ALERT_EMAILS adds more)"
    )
    webhook_url = models.URLField(
        blank=True,
        max_length=500,
        help_text="a Slack or Mattermost incoming webhook (PORTAL_ALERT_WEBHOOK_URL when empty)",
    )
    min_free_mib = models.PositiveIntegerField(
        default=2048, help_text="alert when the backups directory has less free space than this (MiB; 0: never)"
    )
    expiring_within_days = models.PositiveIntegerField(
        default=7, help_text="alert about identities that expire within this many days (0: never)"
    )

    class Meta:
        verbose_name = verbose_name_plural = "alert settings"

    def __str__(self) -> str:
        return "alert settings"

    @classmethod
    def current(cls) -> AlertSettings:
        settings_row, _ = cls.objects.get_or_create(pk=1)
        return settings_row


class Alert(models.Model):
    class Kind(models.TextChoices):
        RUN = "run", "a run failed, errored or was interrupted"
        STALE = "stale", "no recent successful backup"
        FREE_SPACE = "free-space", "little free space for backups"
        EXPIRING = "expiring", "identity expiring soon"
        SCHEDULE = "schedule", "a schedule beat cannot load"
        NEO4J_DOWN = "neo4j-down", "Neo4j does not answer"
        OVERDUE = "overdue", "a run or an outage past its expected length"
        OFFSITE = "offsite", "an off-site copy changed or gone"
        # registered by the compute app (compute/watch.py) through operations/registries.py
        COMPUTE = "compute", "the compute fleet needs attention"

    key = models.CharField(max_length=300, help_text="which problem: one open alert per key")
    kind = models.CharField(max_length=20, choices=Kind.choices, db_index=True)
    subject = models.CharField(max_length=300)
    message = models.TextField()
    opened_at = models.DateTimeField(default=timezone.now, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_message = models.TextField(blank=True)
    # When the opening / the resolution was delivered on every configured channel (retried each sweep until then).
    notified_at = models.DateTimeField(null=True, blank=True)
    resolved_notified_at = models.DateTimeField(null=True, blank=True)
    # [{"at", "event": "opened|resolved", "channel": "email|webhook|none", "to", "ok", "error"}, ...]
    deliveries = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=Q(resolved_at__isnull=True), name="operations_one_open_alert_per_problem"
            )
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
