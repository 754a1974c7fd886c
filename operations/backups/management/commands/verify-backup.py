"""`manage.py verify-backup`, the name the command was first given: the same command as `verify_backup`."""

from .verify_backup import Command  # noqa: F401
