"""One row per operation run (backup, restore, migration) and one per step of it.

The runner (``operations/runs/engine.py``) is the only writer while a run is active; the admin's progress display and
``manage.py operations`` only read these rows.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class RunStatus(models.TextChoices):
    PENDING = "pending", "pending"  # requested, waiting for a worker
    RUNNING = "running", "running"  # a worker claimed it
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"  # an expected failure: the reason is in ``error``
    ERRORED = "errored", "errored"  # an unexpected exception: the traceback is in ``error``
    INTERRUPTED = "interrupted", "interrupted"  # its worker died; recovered when a worker started again
    CANCELLED = "cancelled", "cancelled"  # ended by staff while still pending; no worker ever ran it


ACTIVE_STATUSES = (RunStatus.PENDING, RunStatus.RUNNING)
TERMINAL_STATUSES = (
    RunStatus.SUCCEEDED,
    RunStatus.FAILED,
    RunStatus.ERRORED,
    RunStatus.INTERRUPTED,
    RunStatus.CANCELLED,
)


class StepStatus(models.TextChoices):
    PENDING = "pending", "pending"
    RUNNING = "running", "running"
    OK = "ok", "ok"
    FAILED = "failed", "failed"
    SKIPPED = "skipped", "skipped"  # not run because an earlier step failed
    INTERRUPTED = "interrupted", "interrupted"


class OperationRun(models.Model):
    kind = models.CharField(max_length=40, db_index=True, help_text="the procedure: backup, restore, ...")
    target = models.CharField(max_length=40, help_text="the Neo4j service it acts on (PORTAL_OPERATIONS_TARGET)")
    target_description = models.CharField(max_length=300, blank=True)
    params = models.JSONField(default=dict, blank=True, help_text="what was asked (e.g. which backup to restore)")
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.PENDING, db_index=True)

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="operation_runs"
    )
    # Who asked, as shown: the staff user's name, or ``cli:<os user>`` for manage.py.
    requested_by_label = models.CharField(max_length=150)
    requested_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    celery_task_id = models.CharField(max_length=64, default="", blank=True)
    # The broker message is only a hint (docs/runs.md): when it was last handed to the broker and how often, so the
    # sweep can send a pending run's message again after it was lost.
    sent_at = models.DateTimeField(null=True, blank=True)
    queue = models.CharField(max_length=100, blank=True, help_text="the Celery queue its message goes to")
    send_count = models.PositiveIntegerField(default=0)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by_label = models.CharField(max_length=150, blank=True)
    worker = models.CharField(max_length=200, blank=True, help_text="the Celery worker that claimed it")
    worker_pid = models.IntegerField(null=True, blank=True)

    error = models.TextField(blank=True)
    # The run's log is one RunLogLine row per line (``log`` below), written by a logging handler (operations/runs/runlog.py).
    # Facts the steps record as they go (was Neo4j running, where data was set aside); recovery reads them.
    state = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            # The atomic claim: a second active run on the same target cannot even be inserted.
            models.UniqueConstraint(
                fields=["target"],
                condition=Q(status__in=["pending", "running"]),
                name="operations_one_active_run_per_target",
            ),
        ]
        permissions = [("request_backup", "Can request a backup of the state store")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} on {self.target} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def elapsed_seconds(self) -> float | None:
        if self.started_at is None:
            return None
        return ((self.finished_at or timezone.now()) - self.started_at).total_seconds()

    def waiting_seconds(self) -> float | None:
        """How long a pending run has waited for a worker; None once one took it (or it ended)."""
        if self.status != RunStatus.PENDING:
            return None
        return (timezone.now() - self.requested_at).total_seconds()

    @property
    def log(self) -> list[dict[str, str]]:
        """The run's log, oldest line first: [{"at": ISO time, "level": "info|warning|error", "step": name or "",
        "message": text}, ...] (what the run page, its JSON feed and ``manage.py operations --show`` print)."""
        return [line.as_dict() for line in self.log_lines.all()]

    def current_position(self) -> tuple[int, int]:
        """(k, n): the step running now, or the last one that ran, and how many steps there are."""
        steps = list(self.steps.all())
        if self.status == RunStatus.CANCELLED:
            return 0, len(steps)  # its steps are all "skipped", yet none ran
        k = 0
        for step in steps:
            if step.status != StepStatus.PENDING:
                k = step.position
        return k, len(steps)

    def outage_window(self) -> tuple[datetime, datetime | None] | None:
        """(when Neo4j became unavailable, when it answered again or None while it still does not) for a run that
        stopped it; None for a run that never did. The runner records both in the run's state."""
        started, ended = self.state.get("outage_started"), self.state.get("outage_ended")
        if not started:
            return None
        return datetime.fromisoformat(started), datetime.fromisoformat(ended) if ended else None

    def outage(self) -> dict[str, Any] | None:
        """The outage as the run page shows it: its window, its length so far, whether it is going on now."""
        window = self.outage_window()
        if window is None:
            return None
        started, ended = window
        live = ended is None and not self.is_terminal
        until = ended or (timezone.now() if live else None)
        return {
            "started": started.isoformat(),
            "ended": ended.isoformat() if ended else None,
            "seconds": (until - started).total_seconds() if until else None,
            "live": live,
        }

    def progress(self) -> dict[str, Any]:
        """What the run page polls: status, step k of n and how many are over, elapsed time, the outage, steps and
        the log."""
        k, n = self.current_position()
        now, window = timezone.now(), self.outage_window()
        steps = []
        for step in self.steps.all():
            row = step.as_dict()
            began, over = step.started_at, step.finished_at or (now if step.status == StepStatus.RUNNING else None)
            row["seconds"] = (over - began).total_seconds() if began and over else None
            # The step ran while Neo4j was unavailable (at least in part): the outage's window on the timeline.
            row["in_outage"] = bool(window and began and began < (window[1] or now) and (over or now) > window[0])
            steps.append(row)
        return {
            "id": self.pk,
            "kind": self.kind,
            "status": self.status,
            "terminal": self.is_terminal,
            "step": k,
            "steps_total": n,
            "steps_over": sum(s["status"] not in (StepStatus.PENDING, StepStatus.RUNNING) for s in steps),
            "elapsed_seconds": self.elapsed_seconds(),
            "waiting_seconds": self.waiting_seconds(),
            "outage": self.outage(),
            "error": self.error,
            "steps": steps,
            "log": self.log,
        }

    @classmethod
    def new_task_id(cls) -> str:
        return str(uuid.uuid4())


class OperationStep(models.Model):
    run = models.ForeignKey(OperationRun, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField(help_text="1-based")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    commands = models.JSONField(default=list, blank=True, help_text="the exact command lines it runs (preview)")
    status = models.CharField(max_length=20, choices=StepStatus.choices, default=StepStatus.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    output = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "position"]
        constraints = [models.UniqueConstraint(fields=["run", "position"], name="operations_step_position")]

    def __str__(self) -> str:
        return f"{self.position}. {self.name} ({self.status})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "name": self.name,
            "description": self.description,
            "commands": self.commands,
            "status": self.status,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "output": self.output,
        }


class RunLogLine(models.Model):
    """One line of a run's log. Lines are only ever added, one INSERT each (operations/runs/runlog.py), so a long run's
    log costs nothing to extend and the run page can poll it while it grows."""

    run = models.ForeignKey(OperationRun, on_delete=models.CASCADE, related_name="log_lines")
    at = models.DateTimeField(default=timezone.now)
    level = models.CharField(max_length=10, default="info", help_text="info, warning or error")
    step = models.CharField(max_length=100, blank=True, help_text="the step running when it was written")
    message = models.TextField()

    class Meta:
        ordering = ["run", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.level} {self.message}"

    def as_dict(self) -> dict[str, str]:
        return {"at": self.at.isoformat(), "level": self.level, "step": self.step, "message": self.message}
