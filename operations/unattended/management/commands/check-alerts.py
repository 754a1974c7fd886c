"""`manage.py check-alerts`, the name the command was first given: the same command as `check_alerts`."""

from .check_alerts import Command  # noqa: F401
