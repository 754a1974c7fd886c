"""The status page's lines about what runs with nobody watching (docs/unattended.md): whether celery beat is alive,
the restore drill, the off-site copies, and the next scheduled backup. Registered in the app's ``ready()``."""

from __future__ import annotations

from django.utils import timezone

from ..backups import offsite
from ..checks import Check
from .beat import beat_alive
from .drills import drill_status
from .schedules import broken_tasks, next_due_backup


def scheduler() -> Check:
    alive, detail = beat_alive()
    return Check("Scheduler (celery beat)", alive, detail)


def restore_drill() -> Check:
    return Check("Restore drill", *drill_status())


def offsite_copies() -> Check:
    return Check("Off-site copies", *offsite.status())


def next_backup() -> Check:
    due = next_due_backup()
    if due is None:
        return Check("Next scheduled backup", False, "no backup schedule is enabled")
    alive, _ = beat_alive()
    schedule, at = due
    return Check(
        "Next scheduled backup",
        alive,
        f"{timezone.localtime(at):%Y-%m-%d %H:%M:%S} UTC by schedule {schedule.name!r}"
        + ("" if alive else " (but beat is not running: it will not fire)"),
    )


def schedules_loadable() -> Check:
    broken = broken_tasks()
    if not broken:
        return Check("Backup schedules", True, "every enabled schedule can be worked out")
    names = ", ".join(repr(task.name) for task, _ in broken)
    return Check("Backup schedules", False, f"beat skips {names}: {broken[0][1]}; edit or disable them")


#: (name, check) in the order the status page shows them
LINES = [
    ("Scheduler (celery beat)", scheduler),
    ("Restore drill", restore_drill),
    ("Off-site copies", offsite_copies),
    ("Next scheduled backup", next_backup),
    ("Backup schedules", schedules_loadable),
]
