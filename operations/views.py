from django.contrib import admin
from django.template.response import TemplateResponse

from . import health


def system_status(request):
    checks = health.all_checks()
    context = {
        **admin.site.each_context(request),
        "title": "System status",
        "checks": checks,
        "all_ok": all(c.ok for c in checks),
        "scheduler": scheduler_status(),
    }
    return TemplateResponse(request, "admin/system_status.html", context)


def scheduler_status() -> list[health.Check]:
    """Whether celery beat is alive, and the next scheduled backup (docs/unattended.md)."""
    from django.utils import timezone

    from . import offsite
    from .beat import beat_alive
    from .drills import drill_status
    from .schedules import next_due_backup

    alive, detail = beat_alive()
    rows = [health.Check("Scheduler (celery beat)", alive, detail)]
    try:
        rows.append(health.Check("Restore drill", *drill_status()))
    except Exception as exc:
        rows.append(health.Check("Restore drill", False, f"cannot read the drills: {exc}"))
    try:
        rows.append(health.Check("Off-site copies", *offsite.status()))
    except Exception as exc:
        rows.append(health.Check("Off-site copies", False, f"cannot read the copies: {exc}"))
    try:
        due = next_due_backup()
    except Exception as exc:
        rows.append(health.Check("Next scheduled backup", False, f"cannot read the schedules: {exc}"))
        return rows
    if due is None:
        rows.append(health.Check("Next scheduled backup", False, "no backup schedule is enabled"))
    else:
        schedule, at = due
        rows.append(
            health.Check(
                "Next scheduled backup",
                alive,
                f"{timezone.localtime(at):%Y-%m-%d %H:%M:%S} UTC by schedule {schedule.name!r}"
                + ("" if alive else " (but beat is not running: it will not fire)"),
            )
        )
    return rows
