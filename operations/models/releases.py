"""The record of alchemiscale release upgrades (``operations/upgrades/release.py``) and of the notices staff sent
users afterwards (``operations/upgrades/notices.py``): one row per attempt, one row per notice."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ReleaseOutcome(models.TextChoices):
    UPGRADED = "upgraded", "upgraded"
    FAILED = "failed", "failed, every service put back on its old image"
    ROLLED_BACK = "rolled-back", "interrupted, then rolled back"
    INTERRUPTED = "interrupted", "interrupted: resume or roll back"


class ReleaseUpgrade(models.Model):
    target = models.CharField(max_length=40)
    from_tag = models.CharField(max_length=128)
    to_tag = models.CharField(max_length=128)
    from_image = models.CharField(max_length=255, blank=True)
    to_image = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=20, choices=ReleaseOutcome.choices)
    at = models.DateTimeField(default=timezone.now, db_index=True, help_text="when the attempt ended")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="release_upgrades"
    )
    by_label = models.CharField(max_length=150, help_text="the staff user, or cli:<os user> for manage.py")
    run = models.ForeignKey(
        "operations.OperationRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="release_records"
    )
    # The services and their images before, the backup, why it failed, what was put back.
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.from_tag} -> {self.to_tag} on {self.target}: {self.outcome}"


class ReleaseNotice(models.Model):
    """A notice sent to alchemiscale's users (user identities with an e-mail; never compute identities)."""

    release = models.ForeignKey(
        ReleaseUpgrade, null=True, blank=True, on_delete=models.SET_NULL, related_name="notices"
    )
    version = models.CharField(max_length=128, help_text="the release the deployment runs now")
    client_version = models.CharField(max_length=128, help_text="the client version users are asked to install")
    subject = models.CharField(max_length=255)
    body = models.TextField()
    sent_at = models.DateTimeField(default=timezone.now, db_index=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="release_notices"
    )
    by_label = models.CharField(max_length=150)
    #: [{"identifier", "email"}] the mail server accepted
    recipients = models.JSONField(default=list, blank=True)
    #: [{"identifier", "email", "error"}] it refused
    failed = models.JSONField(default=list, blank=True)
    #: user identities with no (usable) e-mail address, listed so staff can reach them otherwise
    without_email = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-sent_at", "-pk"]

    def __str__(self) -> str:
        return f"notice of {self.version} to {len(self.recipients)} user(s)"
