"""Off-site copies of backups: one row per dump copied (or being retried) to an rclone remote
(docs/offsite-copies.md)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class BackupCopy(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "waiting to be copied"
        OK = "ok", "copied, checksum matches"
        FAILED = "failed", "copy failed (retried)"
        DAMAGED = "damaged", "changed or gone on the remote (found by the re-check)"

    backup = models.ForeignKey("operations.Backup", on_delete=models.CASCADE, related_name="copies")
    remote = models.CharField(
        max_length=500, help_text="the rclone remote and directory it went to (PORTAL_OFFSITE_REMOTE at the time)"
    )
    path = models.CharField(max_length=500, help_text="the file's path under the remote: <target>/<file name>")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    # "<hash>:<hex>" of the copy as the remote reports it (or as read back), equal to the local file's.
    checksum = models.CharField(max_length=200, blank=True)
    detail = models.TextField(blank=True, help_text="how the checksum was checked")
    size = models.BigIntegerField(null=True, blank=True, help_text="bytes on the remote")
    copied_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="why the last attempt failed")
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="when a failed copy is tried again (beat asks for a run)"
    )
    # Client-side encryption (docs/offsite-encryption.md): the age public keys the copy was encrypted to, one a line
    # (empty: sent in clear), and the SHA-256 of the bytes as stored there; the backup's own sha256 is the plain one.
    recipients = models.TextField(blank=True, help_text="age public keys the copy is encrypted to; empty: in clear")
    stored_sha256 = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the bytes on the remote")
    # The portal database copy sent with the dump (always encrypted), and its stored SHA-256.
    portal_db_path = models.CharField(max_length=500, blank=True)
    portal_db_sha256 = models.CharField(max_length=64, blank=True)
    # The rotating re-check of remote copies (docs/offsite-encryption.md, "Copies that stay true").
    checked_at = models.DateTimeField(null=True, blank=True, help_text="when the copy was last re-checked there")
    created_at = models.DateTimeField(default=timezone.now)
    last_run = models.ForeignKey(
        "operations.OperationRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="copies_made"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "off-site copy"
        verbose_name_plural = "off-site copies"
        constraints = [models.UniqueConstraint(fields=["backup", "remote"], name="operations_one_copy_per_remote")]

    def __str__(self) -> str:
        return f"{self.location} ({self.state})"

    @property
    def recipient_list(self) -> list[str]:
        return [r for r in self.recipients.split() if r]

    @property
    def location(self) -> str:
        return f"{self.remote.rstrip('/')}/{self.path}"
