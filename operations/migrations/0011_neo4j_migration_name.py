# The 4.4 -> 5 store migration was recorded as "neo4j-4.4-to-5.26" while its target release was fixed; it is
# "neo4j-4.4-to-5" since the release became a setting (PORTAL_NEO4J_MIGRATION_VERSION). Records under the old name
# take the new one, so the upgrade page and `migrate-store --list` show the migration as applied where it was.
# An applied record is left alone if the target has an applied one under the new name already (one per target).

from django.db import migrations, models

OLD, NEW = "neo4j-4.4-to-5.26", "neo4j-4.4-to-5"


def rename(apps, schema_editor, old=OLD, new=NEW):
    AppliedMigration = apps.get_model("operations", "AppliedMigration")
    for record in AppliedMigration.objects.filter(name=old):
        clash = (
            record.outcome == "applied"
            and AppliedMigration.objects.filter(name=new, target=record.target, outcome="applied").exists()
        )
        if not clash:
            AppliedMigration.objects.filter(pk=record.pk).update(name=new)


def rename_back(apps, schema_editor):
    rename(apps, schema_editor, old=NEW, new=OLD)


class Migration(migrations.Migration):
    dependencies = [("operations", "0010_backup_procedure")]

    operations = [
        migrations.AlterField(
            model_name="appliedmigration",
            name="name",
            field=models.CharField(help_text="the registry's name, e.g. neo4j-4.4-to-5", max_length=80),
        ),
        migrations.RunPython(rename, rename_back),
    ]
