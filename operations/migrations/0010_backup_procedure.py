# Each backup records how its dump was taken: offline (the stopped store dumped), short-outage (stopped, copied to a
# snapshot, dumped while serving) or online-snapshot (a snapshot of the running store: no outage). Existing backups:
# short-outage where the run that made a requested backup took the snapshot path, offline otherwise.

from django.db import migrations, models


def name_existing(apps, schema_editor):
    Backup = apps.get_model("operations", "Backup")
    for backup in Backup.objects.filter(purpose="requested").exclude(made_by_run=None).select_related("made_by_run"):
        if (backup.made_by_run.params or {}).get("snapshot"):
            Backup.objects.filter(pk=backup.pk).update(procedure="short-outage")


class Migration(migrations.Migration):
    dependencies = [("operations", "0009_run_log_lines")]

    operations = [
        migrations.AddField(
            model_name="backup",
            name="procedure",
            field=models.CharField(
                choices=[
                    ("offline", "offline: the stopped store dumped"),
                    ("short-outage", "short outage: stopped, copied, dumped while serving"),
                    ("online-snapshot", "online snapshot: no outage"),
                ],
                default="offline",
                help_text="how the dump was taken: offline, with a short outage, or from a snapshot of the running "
                "store",
                max_length=20,
            ),
        ),
        migrations.RunPython(name_existing, migrations.RunPython.noop),
    ]
