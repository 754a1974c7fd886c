"""The unattended app's admin: alerts (alerts.py) and backup schedules (schedules.py)."""

from . import alerts, schedules  # noqa: F401  (each registers its admin)
