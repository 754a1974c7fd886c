"""`manage.py upgrade-release`, the name the issue gives the command: the same command as `upgrade_release`."""

from .upgrade_release import Command  # noqa: F401
