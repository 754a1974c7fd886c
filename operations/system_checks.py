"""Advice on operations settings that work but put the backups or the alerts at risk: Django system checks, tagged
``operations`` (``manage.py check --tag operations``), registered when apps.py imports this module. Silence one that
was chosen on purpose with ``SILENCED_SYSTEM_CHECKS``."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from .alerts import recipients, webhook_url
from .models import AlertSettings
from .targets import LocalTarget, TargetError, default_connection


def _neo4j_data_dir() -> Path | None:
    """The operations target's data directory as far as the settings tell it without asking a service: the local
    installation's neo4j.conf, or PORTAL_NEO4J_DATA_DIR for Docker (otherwise found through the engine only)."""
    if settings.OPERATIONS_TARGET == "docker":
        return Path(settings.NEO4J_DATA_DIR) if settings.NEO4J_DATA_DIR else None
    try:
        target = LocalTarget.from_settings(
            connection=default_connection(), backup_dir=settings.BACKUP_DIR, start_timeout=settings.NEO4J_START_TIMEOUT
        )
        return target.data_dir
    except (ImproperlyConfigured, TargetError, OSError):
        return None  # no installation there: the status page and every operation say so


@register("operations")
def backups_beside_the_store(app_configs, **kwargs) -> list[CheckMessage]:
    data_dir = _neo4j_data_dir()
    if data_dir is None:
        return []
    data_dir = data_dir.resolve()
    if not Path(settings.BACKUP_DIR).resolve().is_relative_to(data_dir):
        return []
    return [
        Warning(
            f"The backups directory {settings.BACKUP_DIR} (PORTAL_BACKUP_DIR) is inside Neo4j's data directory "
            f"{data_dir}.",
            hint="Backups there share the store's disk, so one failure loses both, and its free space, which a "
            "backup's snapshot and a restore's staged store need (docs/outage.md). Put them on another disk.",
            id="operations.W001",
        )
    ]


@register("operations", Tags.database)
def alert_channels(app_configs, databases=None, **kwargs) -> list[CheckMessage]:
    # Recipients may be set in the admin, so only a check given the database can tell (`migrate`, and
    # `check --database default`); development portals are left alone.
    if not settings.PRODUCTION or not databases or "default" not in databases:
        return []
    try:
        row = AlertSettings.objects.filter(pk=1).first() or AlertSettings()
    except DatabaseError:
        return []  # not migrated yet
    if recipients(row) or webhook_url(row):
        return []
    return [
        Warning(
            "No alert reaches anyone: there is no e-mail recipient and no webhook, so a failed backup or a full "
            "backups disk is only listed under Operations > Alerts.",
            hint="Set recipients or a webhook in Operations > Alert settings, or PORTAL_ALERT_EMAILS or "
            "PORTAL_ALERT_WEBHOOK_URL (docs/unattended.md).",
            id="operations.W002",
        )
    ]
