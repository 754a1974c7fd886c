"""`manage.py reconcile-backups`, the hyphenated spelling of the other commands: the same command as
`reconcile_backups`."""

from .reconcile_backups import Command  # noqa: F401
