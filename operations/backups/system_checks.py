"""Advice on where the backups are kept, which works but puts them at risk: a Django system check, tagged ``operations`` (``manage.py check --tag operations``), registered
when the app's ``ready()`` imports this module. Silence one that was chosen on purpose with
``SILENCED_SYSTEM_CHECKS``."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.core.exceptions import ImproperlyConfigured

from ..targets import LocalTarget, TargetError, default_connection
from . import encryption


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


@register("operations")
def offsite_encryption(app_configs, **kwargs) -> list[CheckMessage]:
    """Recipients that are not age public keys make every copy fail: say so at start, not at the first backup. A
    remote without recipients works, in clear: advice."""
    try:
        encryption.parse_recipients(encryption.recipient_strings())
    except encryption.KeyProblem as exc:
        return [Error(str(exc), hint="docs/offsite-encryption.md", id="operations.E010")]
    if settings.OFFSITE_REMOTE.strip() and not encryption.enabled():
        return [
            Warning(
                "Off-site copies go in clear: PORTAL_BACKUP_RECIPIENTS is empty.",
                hint="The dumps hold every identity's e-mail and key hash; whoever reads the remote reads them. Set "
                "PORTAL_BACKUP_RECIPIENTS to age public keys (the portal database copy is sent only encrypted); "
                "docs/offsite-encryption.md.",
                id="operations.W010",
            )
        ]
    return []
