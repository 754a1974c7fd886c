"""`manage.py copy-backup`, the name the command was first given: the same command as `copy_backup`."""

from .copy_backup import Command  # noqa: F401
