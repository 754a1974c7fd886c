"""`manage.py migrate-store`, the name the command was first given: the same command as `migrate_store`."""

from .migrate_store import Command  # noqa: F401
