"""The backup catalog: one row per complete dump file in a target's backups directory."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils import timezone

# The only names the backup procedure gives (``neo4j-<UTC date>-<time>[-n].dump``): a plain file name, so a catalog
# entry can never point outside its backups directory.
FILE_NAME = re.compile(r"neo4j-[0-9]{8}-[0-9]{6}(-[0-9]{1,4})?\.dump")
# The copy of the portal's own database taken with a dump is named after it (operations/backups/portal_db.py), never ending
# in ".dump", so nothing takes it for a dump.
PORTAL_DB_FILE_NAME = re.compile(r"neo4j-[0-9]{8}-[0-9]{6}(-[0-9]{1,4})?\.portal\.(sqlite3|pgdump)")


class Verification(models.TextChoices):
    NEVER = "never", "never verified"
    OK = "ok", "verified"
    FAILED = "failed", "verification failed"


class Backup(models.Model):
    Verification = Verification

    class Purpose(models.TextChoices):
        REQUESTED = "requested", "requested by staff"
        SAFETY = "safety", "safety copy taken before a restore"
        FOUND = "found", "found in the backups directory without a catalog row"
        ADOPTED = "adopted", "adopted from an off-site remote's manifest"

    class Procedure(models.TextChoices):
        """How the dump was taken (docs/outage.md, docs/snapshot-backups.md)."""

        OFFLINE = "offline", "offline: the stopped store dumped"
        SHORT_OUTAGE = "short-outage", "short outage: stopped, copied, dumped while serving"
        ONLINE_SNAPSHOT = "online-snapshot", "online snapshot: no outage"
        UNKNOWN = "unknown", "unknown: found in the backups directory"

    file_name = models.CharField(max_length=255, help_text="neo4j-<date-time>.dump in the target's backups directory")
    target = models.CharField(max_length=40)
    database = models.CharField(max_length=100)
    size = models.BigIntegerField(help_text="bytes")
    sha256 = models.CharField(max_length=64)
    neo4j_version = models.CharField(max_length=40)
    # Unknown (None) when Neo4j was not running at backup time; then a restore cannot verify them.
    node_count = models.BigIntegerField(null=True, blank=True)
    relationship_count = models.BigIntegerField(null=True, blank=True)
    purpose = models.CharField(max_length=20, choices=Purpose.choices, default=Purpose.REQUESTED)
    procedure = models.CharField(
        max_length=20,
        choices=Procedure.choices,
        default=Procedure.OFFLINE,
        help_text="how the dump was taken: offline, with a short outage, or from a snapshot of the running store",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    made_by_run = models.ForeignKey(
        "operations.OperationRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="backups_made"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="backups"
    )
    requested_by_label = models.CharField(max_length=150)
    # A consistent copy of the portal's own database taken with this backup (beside the dump, same directory).
    portal_db_file = models.CharField(max_length=255, blank=True)
    portal_db_size = models.BigIntegerField(null=True, blank=True, help_text="bytes")
    portal_db_sha256 = models.CharField(max_length=64, blank=True)
    # Set by reconcile (operations/backups/reconcile.py) when the dump is gone and no off-site copy is left: the row
    # stays as history; cleared when the file is back.
    missing_since = models.DateTimeField(
        null=True, blank=True, help_text="when the dump was found gone (with no off-site copy); empty while it is there"
    )
    # Verification (docs/verification.md): the dump re-hashed, loaded into a scratch Neo4j, checked and counted.
    verified_at = models.DateTimeField(null=True, blank=True, help_text="when a verify run last ended on it")
    verification = models.CharField(
        max_length=10, choices=Verification.choices, default=Verification.NEVER, db_index=True
    )
    verification_detail = models.TextField(
        blank=True, help_text="what the last verify run found (the reason if it failed)"
    )
    verified_by_run = models.ForeignKey(
        "operations.OperationRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="backups_verified"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["target", "file_name"], name="operations_backup_file")]
        permissions = [("restore_backup", "Can restore the state store from a backup")]

    def __str__(self) -> str:
        return self.file_name

    def path_in(self, backup_dir: Path) -> Path:
        """The dump file in ``backup_dir``; ValueError for a name the portal never writes (e.g. ``../x``)."""
        if not FILE_NAME.fullmatch(self.file_name or ""):
            raise ValueError(
                f"{self.file_name!r} is not a backup file name the portal writes (neo4j-<date>-<time>.dump)"
            )
        return Path(backup_dir) / self.file_name

    def portal_db_path_in(self, backup_dir: Path) -> Path | None:
        """The copy of the portal's database taken with this backup, if any; ValueError for a name the portal never
        writes."""
        if not self.portal_db_file:
            return None
        if not PORTAL_DB_FILE_NAME.fullmatch(self.portal_db_file):
            raise ValueError(f"{self.portal_db_file!r} is not a portal database copy name the portal writes")
        return Path(backup_dir) / self.portal_db_file

    def verify_runs(self, label: str | None = None) -> list:
        """The verify runs (requested by ``label`` when given) that took this backup, newest first. Their params name
        it; read in Python, since SQLite cannot search a JSON list."""
        from .runs import OperationRun  # runs.py imports this module (its Backup foreign keys)

        runs = OperationRun.objects.filter(kind="verify", target=self.target).order_by("-requested_at", "-pk")
        if label is not None:
            runs = runs.filter(requested_by_label=label)
        return [
            r
            for r in runs.only("pk", "params", "status", "requested_at")
            if self.pk in (r.params or {}).get("backup_ids", [])
        ]
