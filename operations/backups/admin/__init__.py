"""The backups app's admin: the catalog (backups.py) and the retention policy (retention.py)."""

from . import backups, retention  # noqa: F401  (each registers its admin)
