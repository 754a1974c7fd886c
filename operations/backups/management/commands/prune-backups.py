"""`manage.py prune-backups`, the name the command was first given: the same command as `prune_backups`."""

from .prune_backups import Command  # noqa: F401
