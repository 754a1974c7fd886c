"""What beat sends for the fleet (the task's name is the API: the schedule row created in
operations/unattended/schedules.py names it)."""

from __future__ import annotations

from celery import shared_task

from . import history


@shared_task(name="compute.sample_fleet")
def sample_fleet() -> int:
    """Count the fleet, keep the counts for the pages and one history row (compute/history.py)."""
    return history.sample().pk
