"""`manage.py adopt-remote`: the same command as `adopt_remote`."""

from .adopt_remote import Command  # noqa: F401
