"""The audit list of staff accounts' second factors: enrolment pages opened, enrolments, resets, failed and
throttled codes, passkeys enrolled, used, renamed and removed."""

from __future__ import annotations

from django.db import models


class SecurityEvent(models.Model):
    """One event about a person's second factor. Never a secret or a code."""

    class Kind(models.TextChoices):
        ENROL_OPENED = "enrol-opened", "enrolment page opened: a new secret shown"
        ENROLLED = "enrolled", "authenticator enrolled"
        RESET = "reset", "devices reset"
        FAILED = "failed", "wrong second factor"
        THROTTLED = "throttled", "refused: too many wrong codes"
        RECOVERY_USED = "recovery-used", "recovery code used"
        STEP_UP_FAILED = "step-up-failed", "wrong password at step-up"
        PASSKEY_ADDED = "passkey-added", "passkey enrolled"
        PASSKEY_USED = "passkey-used", "passkey used"
        PASSKEY_RENAMED = "passkey-renamed", "passkey renamed"
        PASSKEY_REMOVED = "passkey-removed", "passkey removed"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    username = models.CharField(max_length=150, db_index=True, help_text="whose account")
    actor = models.CharField(max_length=150, help_text="who did it (the person, or the superuser who reset)")
    kind = models.CharField(max_length=16, choices=Kind.choices, db_index=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        default_permissions = ("view",)
        verbose_name = "two-factor audit entry"
        verbose_name_plural = "two-factor audit log"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username}: {self.get_kind_display()}"
