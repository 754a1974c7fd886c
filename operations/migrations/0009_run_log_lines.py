# A run's log moves from one JSON list on the run (re-saved whole for every line) to one row per line
# (operations/runlog.py appends them); the lines runs already have are copied over, in order.

import datetime as dt

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def copy_lines(apps, schema_editor):
    OperationRun = apps.get_model("operations", "OperationRun")
    RunLogLine = apps.get_model("operations", "RunLogLine")
    for run in list(OperationRun.objects.only("pk", "log", "requested_at")):
        lines = []
        for entry in run.log or []:
            try:
                at = dt.datetime.fromisoformat(entry.get("at", ""))
            except (TypeError, ValueError):
                at = run.requested_at
            lines.append(
                RunLogLine(
                    run_id=run.pk,
                    at=at,
                    level=str(entry.get("level", "info"))[:10],
                    step=str(entry.get("step", ""))[:100],
                    message=str(entry.get("message", "")),
                )
            )
        RunLogLine.objects.bulk_create(lines)


def copy_lines_back(apps, schema_editor):
    OperationRun = apps.get_model("operations", "OperationRun")
    RunLogLine = apps.get_model("operations", "RunLogLine")
    for run in list(OperationRun.objects.all()):
        run.log = [
            {"at": line.at.isoformat(), "level": line.level, "step": line.step, "message": line.message}
            for line in RunLogLine.objects.filter(run_id=run.pk).order_by("id")
        ]
        run.save(update_fields=["log"])


class Migration(migrations.Migration):
    dependencies = [
        ("operations", "0008_backup_copies"),
    ]

    operations = [
        migrations.CreateModel(
            name="RunLogLine",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                ("level", models.CharField(default="info", help_text="info, warning or error", max_length=10)),
                (
                    "step",
                    models.CharField(blank=True, help_text="the step running when it was written", max_length=100),
                ),
                ("message", models.TextField()),
                (
                    "run",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="log_lines",
                        to="operations.operationrun",
                    ),
                ),
            ],
            options={
                "ordering": ["run", "id"],
            },
        ),
        migrations.RunPython(copy_lines, copy_lines_back),
        migrations.RemoveField(
            model_name="operationrun",
            name="log",
        ),
    ]
