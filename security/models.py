"""The audit list of staff accounts' second factors: enrolment pages opened, enrolments, resets, failed and
throttled codes, passkeys enrolled, used, renamed and removed."""

from __future__ import annotations

from django.conf import settings
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
        # single sign-on (security/oidc.py)
        SSO_LOGIN = "sso-login", "signed in with single sign-on"
        SSO_REFUSED = "sso-refused", "single sign-on refused"
        ROLE_GRANTED = "role-granted", "role granted from the provider's groups"
        ROLE_REMOVED = "role-removed", "role taken away: no longer in the provider's groups"
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
        verbose_name = "sign-in audit entry"
        verbose_name_plural = "sign-in audit log"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username}: {self.get_kind_display()}"


class OIDCSubject(models.Model):
    """The single sign-on identity a staff account belongs to: the provider (issuer) and its stable id for the
    person (``sub``). An account is found by this pair only, never by e-mail or name (docs/security.md)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_subjects")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created = models.DateTimeField(auto_now_add=True)
    last_login = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="security_oidc_subject_unique")]
        verbose_name = "single sign-on identity"
        verbose_name_plural = "single sign-on identities"

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
