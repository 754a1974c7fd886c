"""Backup schedules: rows staff edit in the admin, each owning the django-celery-beat task that fires it.

``celery beat`` (django-celery-beat's database scheduler) reads ``PeriodicTask`` rows; a schedule keeps its own
task in step on every save, so the admin edits one row and beat sees the change at its next look (docs/unattended.md).
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.utils import timezone
from timezone_field import TimeZoneField

SCHEDULED_BACKUP_TASK = "operations.scheduled_backup"

#: the longest interval a schedule may have (a backup less than once a year is no schedule); beyond what a timedelta
#: holds, an interval crashed celery beat at every start
MAX_INTERVAL_DAYS = 366
PERIOD_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


class BackupSchedule(models.Model):
    class Timing(models.TextChoices):
        INTERVAL = "interval", "every N units"
        CRONTAB = "crontab", "crontab (minute hour day-of-month month day-of-week)"

    class Period(models.TextChoices):
        SECONDS = "seconds", "seconds"
        MINUTES = "minutes", "minutes"
        HOURS = "hours", "hours"
        DAYS = "days", "days"

    name = models.CharField(max_length=100, unique=True)
    enabled = models.BooleanField(default=True, help_text="untick to pause the schedule")
    timing = models.CharField(max_length=10, choices=Timing.choices, default=Timing.CRONTAB)
    every = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_INTERVAL_DAYS * PERIOD_SECONDS["days"])],
        help_text=f"interval: how many periods (at most {MAX_INTERVAL_DAYS} days in all)",
    )
    period = models.CharField(max_length=10, choices=Period.choices, default=Period.HOURS, blank=True)
    minute = models.CharField(max_length=60, default="0", help_text="crontab: minute (0-59, *, */15, 0,30)")
    hour = models.CharField(max_length=60, default="3", help_text="crontab: hour (0-23)")
    day_of_month = models.CharField(max_length=60, default="*")
    month_of_year = models.CharField(max_length=60, default="*")
    day_of_week = models.CharField(max_length=60, default="*", help_text="crontab: 0-6 (Sunday is 0) or mon-sun")
    timezone = TimeZoneField(default="UTC", help_text="the crontab's and the maintenance window's time zone")
    window_start = models.TimeField(
        null=True, blank=True, help_text="maintenance window start (local time); empty: any time"
    )
    window_end = models.TimeField(null=True, blank=True, help_text="window end; may be past midnight (22:00-04:00)")
    prune_after = models.BooleanField(
        default=False,
        help_text="prune old backups by the retention policy after each successful backup of this schedule",
    )

    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="backup_schedule",
    )
    # A due backup that waits for the maintenance window: since when (beat releases it when the window opens).
    due_since = models.DateTimeField(null=True, blank=True, editable=False)
    last_fired_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_run = models.ForeignKey(
        "operations.OperationRun", null=True, blank=True, editable=False, on_delete=models.SET_NULL, related_name="+"
    )
    last_note = models.TextField(blank=True, editable=False, help_text="what happened when it was last due")
    # The backup run a prune was last requested after (prune_after), so one backup leads to one prune.
    pruned_after_run_id = models.BigIntegerField(null=True, blank=True, editable=False)
    # [{"at": iso, "note": str, "run": id or null}, ...] newest last, at most HISTORY entries
    history = models.JSONField(default=list, blank=True, editable=False)

    HISTORY = 50

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.timing == self.Timing.INTERVAL:
            if not self.every or not self.period:
                raise ValidationError({"every": "an interval schedule needs 'every' (at least 1) and a period"})
            seconds = self.every * PERIOD_SECONDS.get(self.period, 1)
            if seconds > MAX_INTERVAL_DAYS * PERIOD_SECONDS["days"]:
                raise ValidationError(
                    {
                        "every": f"every {self.every} {self.period} is longer than {MAX_INTERVAL_DAYS} days, the longest interval"
                    }
                )
        else:
            from django_celery_beat.validators import (
                day_of_month_validator,
                day_of_week_validator,
                hour_validator,
                minute_validator,
                month_of_year_validator,
            )

            errors = {}
            for field, check in (
                ("minute", minute_validator),
                ("hour", hour_validator),
                ("day_of_month", day_of_month_validator),
                ("month_of_year", month_of_year_validator),
                ("day_of_week", day_of_week_validator),
            ):
                try:
                    check(getattr(self, field))
                except ValidationError as exc:
                    errors[field] = exc.messages
            if errors:
                raise ValidationError(errors)
        if (self.window_start is None) != (self.window_end is None):
            raise ValidationError({"window_end": "give both ends of the maintenance window, or neither"})

    def describe_timing(self) -> str:
        if self.timing == self.Timing.INTERVAL:
            return f"every {self.every} {self.period}"
        return (
            f"{self.minute} {self.hour} {self.day_of_month} {self.month_of_year} {self.day_of_week} ({self.timezone})"
        )

    def describe_window(self) -> str:
        if self.window_start is None:
            return "any time"
        return f"{self.window_start:%H:%M}-{self.window_end:%H:%M} {self.timezone}"

    def in_window(self, at: dt.datetime) -> bool:
        """Whether ``at`` falls inside the maintenance window (always, when there is none)."""
        if self.window_start is None or self.window_end is None:
            return True
        local = at.astimezone(zoneinfo.ZoneInfo(str(self.timezone))).time().replace(tzinfo=None)
        start, end = self.window_start, self.window_end
        if start <= end:
            return start <= local < end
        return local >= start or local < end  # the window spans midnight

    def note(self, text: str, run_id: int | None = None, at: dt.datetime | None = None) -> None:
        """Record what happened when it was due (shown in the list as the last outcome, kept in the history)."""
        at = at or timezone.now()
        entry = {"at": at.isoformat(), "note": text, "run": run_id}
        with transaction.atomic():
            fresh = BackupSchedule.objects.select_for_update().get(pk=self.pk)
            fresh.history = (fresh.history + [entry])[-self.HISTORY :]
            fresh.last_note = text
            fresh.save(update_fields=["history", "last_note"])
        self.history, self.last_note = fresh.history, text

    # -- keeping the beat task in step ------------------------------------------------------------------------
    # What happened is written only by conditional updates (operations/unattended/schedules.py); saving the settings (the
    # admin's form, pause/resume) must not write back a stale copy of it.
    STATE_FIELDS = frozenset(
        {"periodic_task", "due_since", "last_fired_at", "last_run", "last_note", "pruned_after_run_id", "history"}
    )

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                f.name for f in self._meta.concrete_fields if not f.primary_key and f.name not in self.STATE_FIELDS
            ]
        with transaction.atomic():
            super().save(*args, **kwargs)
            fields = kwargs.get("update_fields")
            if fields is None or not set(fields) <= self.STATE_FIELDS:  # what happened is no timing of beat's
                self.sync_periodic_task()

    def sync_periodic_task(self) -> None:
        from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

        interval = crontab = None
        if self.timing == self.Timing.INTERVAL:
            interval, _ = IntervalSchedule.objects.get_or_create(every=self.every, period=self.period)
        else:
            crontab, _ = CrontabSchedule.objects.get_or_create(
                minute=self.minute,
                hour=self.hour,
                day_of_month=self.day_of_month,
                month_of_year=self.month_of_year,
                day_of_week=self.day_of_week,
                timezone=str(self.timezone),
            )
        task = self.periodic_task or PeriodicTask(name=f"backup schedule #{self.pk}")
        task.name = f"backup schedule #{self.pk}: {self.name}"[:200]
        task.task = SCHEDULED_BACKUP_TASK
        task.kwargs = json.dumps({"schedule_id": self.pk})
        task.interval, task.crontab = interval, crontab
        task.enabled = self.enabled
        task.description = "kept in step by the portal's backup schedule; edit the schedule, not this task"
        task.save()
        if self.periodic_task_id != task.pk:
            self.periodic_task = task
            super().save(update_fields=["periodic_task"])


def _drop_periodic_task(sender, instance: BackupSchedule, **_kwargs) -> None:
    """A deleted schedule takes its beat task with it (also for the admin's bulk delete)."""
    if instance.periodic_task_id:
        from django_celery_beat.models import PeriodicTask

        PeriodicTask.objects.filter(pk=instance.periodic_task_id).delete()


models.signals.post_delete.connect(_drop_periodic_task, sender=BackupSchedule)
