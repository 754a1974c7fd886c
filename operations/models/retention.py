"""The retention policy: which backups pruning keeps (one row; docs/unattended.md)."""

from __future__ import annotations

from django.db import models


class RetentionPolicy(models.Model):
    keep_last = models.PositiveIntegerField(default=7, help_text="keep the newest N backups")
    keep_daily = models.PositiveIntegerField(
        default=7, help_text="and the newest backup of each of the last N days that have one"
    )
    keep_weekly = models.PositiveIntegerField(default=4, help_text="... of each of the last N ISO weeks")
    keep_monthly = models.PositiveIntegerField(default=6, help_text="... of each of the last N months")
    safety_min_age_hours = models.PositiveIntegerField(
        default=7 * 24, help_text="never prune a safety backup (taken before a restore) younger than this"
    )
    stale_after_hours = models.PositiveIntegerField(
        default=26, help_text="alert when no backup succeeded for this long (0: never)"
    )
    # Off-site copies (docs/offsite-copies.md) have a policy of their own: a copy stays while any of these keeps it.
    offsite_keep_last = models.PositiveIntegerField(default=14, help_text="off-site: keep the newest N copies")
    offsite_keep_days = models.PositiveIntegerField(
        default=90, help_text="off-site: and every copy of a backup younger than N days (0: no age rule)"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "retention policy"
        verbose_name_plural = "retention policy"
        permissions = [("prune_backups", "Can prune backups by the retention policy")]

    def __str__(self) -> str:
        return (
            f"keep the last {self.keep_last}, {self.keep_daily} daily, {self.keep_weekly} weekly, "
            f"{self.keep_monthly} monthly"
        )

    @classmethod
    def current(cls) -> RetentionPolicy:
        """The policy (created with the defaults when missing)."""
        policy, _ = cls.objects.get_or_create(pk=1)
        return policy
