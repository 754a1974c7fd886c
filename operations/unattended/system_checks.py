"""Advice on alerts that reach nobody: a Django system check, tagged ``operations`` (``manage.py check --tag operations``), registered
when the app's ``ready()`` imports this module. Silence one that was chosen on purpose with
``SILENCED_SYSTEM_CHECKS``."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register
from django.db import DatabaseError

from ..models import AlertSettings
from .alerts import recipients, webhook_url


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
