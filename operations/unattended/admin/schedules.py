"""Backup schedules in the admin: operators create, pause and edit them; the list says when each is next due, how
it last went, and warns when celery beat is not running (then nothing fires)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from operations.admin.records import run_link
from operations.models import BackupSchedule

from .. import schedules
from ..beat import beat_alive


@admin.register(BackupSchedule)
class BackupScheduleAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "enabled",
        "timing_display",
        "window_display",
        "next_due_display",
        "last_outcome",
        "prune_after",
    )
    list_filter = ("enabled", "timing")
    search_fields = ("name",)
    actions = ["pause_selected", "resume_selected"]
    readonly_fields = ("last_fired_at", "last_outcome", "due_since", "history_display")

    def get_form(self, request, obj=None, **kwargs):
        return super().get_form(request, obj, labels={"prune_after": "Prune after each backup"}, **kwargs)

    fieldsets = [
        (None, {"fields": ["name", "enabled", "prune_after"]}),
        (
            "When",
            {
                "fields": [
                    "timing",
                    ("every", "period"),
                    ("minute", "hour", "day_of_month", "month_of_year", "day_of_week"),
                    "timezone",
                ],
                "description": "An interval (every N units) or a crontab, read in the time zone below.",
            },
        ),
        (
            "Maintenance window",
            {
                "fields": [("window_start", "window_end")],
                "description": "A backup stops Neo4j while it dumps. When a window is set, a backup "
                "that falls due outside it waits until it opens.",
            },
        ),
        ("What happened", {"fields": ["last_fired_at", "due_since", "last_outcome", "history_display"]}),
    ]

    def changelist_view(self, request: HttpRequest, extra_context=None):
        alive, detail = beat_alive()
        if not alive:
            self.message_user(request, f"Schedules do not fire now: {detail}", messages.WARNING)
        return super().changelist_view(request, {**(extra_context or {}), "beat_alive": alive, "beat_detail": detail})

    @admin.display(description="when")
    def timing_display(self, schedule: BackupSchedule) -> str:
        return schedule.describe_timing()

    @admin.display(description="window")
    def window_display(self, schedule: BackupSchedule) -> str:
        return schedule.describe_window()

    @admin.display(description="next due")
    def next_due_display(self, schedule: BackupSchedule) -> str:
        if not schedule.enabled:
            return "paused"
        if schedule.due_since is not None:
            return format_html(
                '<span class="waiting">waiting for the window since {} UTC</span>',
                f"{schedule.due_since:%Y-%m-%d %H:%M}",
            )
        due = schedules.next_due(schedule)
        if due is None:
            return "paused"
        return format_html('<span class="next-due">{} UTC</span>', f"{timezone.localtime(due):%Y-%m-%d %H:%M:%S}")

    @admin.display(description="last outcome")
    def last_outcome(self, schedule: BackupSchedule) -> str:
        if not schedule.last_note:
            return "never due yet"
        if schedule.last_run_id is not None:
            return format_html(
                '<span class="last-outcome">last backup {} {}; last due: {}</span>',
                run_link(schedule.last_run_id),
                schedule.last_run.status if schedule.last_run else "",
                schedule.last_note,
            )
        return format_html('<span class="last-outcome">{}</span>', schedule.last_note)

    @admin.display(description="history (newest first)")
    def history_display(self, schedule: BackupSchedule) -> str:
        lines = [f"{e['at'][:19].replace('T', ' ')} UTC  {e['note']}" for e in reversed(schedule.history)]
        return format_html("<pre>{}</pre>", "\n".join(lines) or "nothing yet")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("periodic_task", "last_run")

    @admin.action(description="Pause the selected schedules", permissions=["change"])
    def pause_selected(self, request: HttpRequest, queryset) -> None:
        n = schedules.pause(queryset, enabled=False)
        self.message_user(request, f"Paused {n} schedule(s).", messages.SUCCESS)

    @admin.action(description="Resume the selected schedules", permissions=["change"])
    def resume_selected(self, request: HttpRequest, queryset) -> None:
        n = schedules.pause(queryset, enabled=True)
        self.message_user(request, f"Resumed {n} schedule(s).", messages.SUCCESS)
