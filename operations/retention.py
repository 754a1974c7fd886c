"""Which backups pruning removes, and why (docs/unattended.md).

``decide`` is a pure function over the catalog rows: the prune procedure (``operations/procedures/prune.py``), its
preview in the admin and ``manage.py prune-backups --dry-run`` all show its verdicts, so what staff see is what
happens. A backup is kept when any rule keeps it; the reasons are listed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path

from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.utils import timezone

from .models import ACTIVE_STATUSES, Backup, OperationRun, RetentionPolicy


@dataclasses.dataclass
class Verdict:
    backup: Backup
    keep: bool
    reasons: list[str]

    def as_dict(self) -> dict:
        b = self.backup
        return {
            "id": b.pk,
            "file": b.file_name,
            "created_at": b.created_at.isoformat(),
            "purpose": b.purpose,
            "keep": self.keep,
            "reasons": self.reasons,
        }

    def line(self) -> str:
        b = self.backup
        return (
            f"{'keep  ' if self.keep else 'REMOVE'} #{b.pk} {b.file_name} ({b.purpose}, "
            f"{b.created_at:%Y-%m-%d %H:%M} UTC): {'; '.join(self.reasons)}"
        )


def backups_in_use() -> dict[int, int]:
    """backup id -> the pending or running run that uses it (a restore reads it)."""
    used = {}
    for run in OperationRun.objects.filter(status__in=ACTIVE_STATUSES):
        backup_id = (run.params or {}).get("backup_id")
        if isinstance(backup_id, int):
            used[backup_id] = run.pk
    return used


def decide(
    backups: Iterable[Backup],
    policy: RetentionPolicy,
    now: dt.datetime,
    *,
    in_use: dict[int, int] | None = None,
    file_exists: Callable[[Backup], bool] = lambda b: True,
) -> list[Verdict]:
    """Keep or remove each backup, newest first, with the reasons."""
    in_use = in_use or {}
    ordered = sorted(backups, key=lambda b: (b.created_at, b.pk), reverse=True)
    verdicts = []
    newest_good_seen = False
    good_rank = 0
    buckets: dict[str, set] = {"daily": set(), "weekly": set(), "monthly": set()}
    limits = {"daily": policy.keep_daily, "weekly": policy.keep_weekly, "monthly": policy.keep_monthly}
    safety_age = dt.timedelta(hours=policy.safety_min_age_hours)
    for backup in ordered:
        reasons = []
        exists = file_exists(backup)
        if not exists:
            # Nothing to restore from, but its row is evidence that something went wrong: staff decide.
            verdicts.append(Verdict(backup, True, ["its file is missing: left for staff to look at"]))
            continue
        if not newest_good_seen:
            newest_good_seen = True
            reasons.append("the newest good backup")
        if backup.pk in in_use:
            reasons.append(f"used by run #{in_use[backup.pk]}")
        if backup.purpose == Backup.Purpose.SAFETY and now - backup.created_at < safety_age:
            reasons.append(f"a safety backup younger than {policy.safety_min_age_hours} h")
        good_rank += 1
        if good_rank <= policy.keep_last:
            reasons.append(f"one of the last {policy.keep_last}")
        at = backup.created_at.astimezone(dt.UTC)
        iso = at.isocalendar()
        for kind, bucket in (
            ("daily", at.strftime("%Y-%m-%d")),
            ("weekly", f"{iso[0]}-W{iso[1]:02d}"),
            ("monthly", at.strftime("%Y-%m")),
        ):
            seen = buckets[kind]
            if bucket not in seen and len(seen) < limits[kind]:
                seen.add(bucket)
                reasons.append(f"newest of {bucket} ({kind} {len(seen)} of {limits[kind]})")
        if reasons:
            verdicts.append(Verdict(backup, True, reasons))
        else:
            verdicts.append(
                Verdict(
                    backup,
                    False,
                    [f"not among the last {policy.keep_last} nor the newest of a kept day, week or month"],
                )
            )
    return verdicts


def decide_for(target_name: str, backup_dir: Path, now: dt.datetime | None = None) -> list[Verdict]:
    """The verdicts for one target's catalog, reading its backups directory and the active runs."""

    def file_exists(backup: Backup) -> bool:
        try:
            return backup.path_in(backup_dir).is_file()
        except ValueError:
            return False

    return decide(
        Backup.objects.filter(target=target_name),
        RetentionPolicy.current(),
        now or timezone.now(),
        in_use=backups_in_use(),
        file_exists=file_exists,
    )


def portal_db_path(backup: Backup, backup_dir: Path) -> Path | None:
    """The copy of the portal's database beside the dump, if the backup has one (a plain name in the same dir)."""
    name = backup.portal_db_file
    if not name:
        return None
    if "/" in name or "\\" in name or name in {".", ".."}:
        raise ValueError(f"{name!r} is not a file name in the backups directory")
    return Path(backup_dir) / name


def can_prune(user: AbstractUser | AnonymousUser | None) -> bool:
    return user is None or user.has_perm("operations.prune_backups")


def request_prune(
    user: AbstractUser | AnonymousUser | None = None, *, label: str | None = None, send: bool = True, target=None
) -> OperationRun:
    """Queue a prune of the target's backups by the retention policy; OperationBusy while another run is active."""
    from django.core.exceptions import PermissionDenied

    from . import runner, services
    from .procedures.prune import PruneProcedure
    from .targets import get_target

    if not can_prune(user):
        raise PermissionDenied("pruning backups needs the 'Can prune backups by the retention policy' permission")
    return runner.request(
        PruneProcedure(target or get_target(), {}), user=user, label=services._label(user, label), send=send
    )
