"""The portal's own records about identities, kept in Django's database (never in the state store)."""

from __future__ import annotations

from django.db import models

KIND_CHOICES = [("user", "user"), ("compute", "compute")]

# Codenames staff groups are given (the "identity manager" role holds all of them: security/roles.py).
IDENTITY_PERMISSIONS: list[tuple[str, str]] = [
    ("view_identity", "Can view identities and scopes"),
    ("add_identity", "Can add identities"),
    ("change_identity", "Can change identities' details and scopes"),
    ("delete_identity", "Can delete identities"),
    ("rotate_identity_key", "Can rotate identities' keys"),
    ("disable_identity", "Can disable and enable identities"),
]


class IdentityRights(models.Model):
    """Holds the identity permissions; identities live in Neo4j, so there is no table here."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = tuple(IDENTITY_PERMISSIONS)


class AuditEntry(models.Model):
    """One change to an identity or its scopes: who, when, what, before and after. Never a key or a hash."""

    class Action(models.TextChoices):
        ADD = "add", "added"
        REMOVE = "remove", "removed"
        ADD_SCOPE = "add-scope", "scope added"
        REMOVE_SCOPE = "remove-scope", "scope removed"
        SET_SCOPES = "set-scopes", "scopes set"
        CHANGE = "change", "details changed"
        ROTATE_KEY = "rotate-key", "key rotated"
        DISABLE = "disable", "disabled"
        ENABLE = "enable", "enabled"

    class ActorKind(models.TextChoices):
        STAFF = "staff", "staff user (web admin)"
        CLI = "cli", "command-line user"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_kind = models.CharField(max_length=8, choices=ActorKind.choices)
    actor = models.CharField(max_length=150, help_text="staff username, or the OS user who ran manage.py")
    action = models.CharField(max_length=16, choices=Action.choices, db_index=True)
    identity_kind = models.CharField(max_length=8, choices=KIND_CHOICES)
    identifier = models.CharField(max_length=512, db_index=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        default_permissions = ("view",)
        verbose_name = "identity audit entry"
        verbose_name_plural = "identity audit log"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.identity_kind} {self.identifier}"


class ParkedKey(models.Model):
    """The real key hash of a disabled identity, while Neo4j holds a hash that matches no key.

    alchemiscale ignores the ``disabled`` property, so this is what makes disabling lock the identity out.
    """

    identity_kind = models.CharField(max_length=8, choices=KIND_CHOICES)
    identifier = models.CharField(max_length=512)
    hashed_key = models.CharField(max_length=100)
    # The lock hash written to Neo4j: enabling restores only if the node still carries it.
    lock_hash = models.CharField(max_length=100)
    parked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["identity_kind", "identifier"], name="one_parked_key")]

    def __str__(self) -> str:
        return f"{self.identity_kind} {self.identifier}"


class IdentityWrite(models.Model):
    """A change to an identity's key or existence, recorded (and committed) before Neo4j is written.

    The row holds everything needed to finish the change or to know it never happened: the Neo4j state expected
    before and after (key hash and disabled flag; null means "no node"), and the audit entry to write once done.
    For a disable, the state before holds the real key hash, so it is in the portal's database before Neo4j is
    given the lock hash. ``manage.py identity reconcile`` settles rows left pending (docs/identity-writes.md).
    """

    class State(models.TextChoices):
        PENDING = "pending", "unfinished"
        DONE = "done", "done"
        ABANDONED = "abandoned", "abandoned (never happened)"

    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    outcome = models.TextField(blank=True, help_text="how it was settled; why, when abandoned")
    action = models.CharField(max_length=16, choices=AuditEntry.Action.choices)
    identity_kind = models.CharField(max_length=8, choices=KIND_CHOICES)
    identifier = models.CharField(max_length=512)
    neo4j_before = models.JSONField(null=True, blank=True)
    neo4j_after = models.JSONField(null=True, blank=True)
    actor_kind = models.CharField(max_length=8, choices=AuditEntry.ActorKind.choices)
    actor = models.CharField(max_length=150)
    audit_before = models.JSONField(null=True, blank=True)
    audit_after = models.JSONField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        default_permissions = ()
        constraints = [
            # One unfinished change per identity: a second would start from a state the first may still change.
            models.UniqueConstraint(
                fields=["identity_kind", "identifier"], condition=models.Q(state="pending"), name="one_pending_write"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.identity_kind} {self.identifier} ({self.state})"
