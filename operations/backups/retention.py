"""Which backups pruning removes, and why (docs/unattended.md).

``decide`` (local dumps) and ``decide_copies`` (off-site copies, by a policy of their own: docs/offsite-copies.md)
are pure functions over the catalog rows: the prune procedure (``operations/backups/procedures/prune.py``), its
preview in the admin and ``manage.py prune-backups --dry-run`` all show their verdicts, so what staff see is what
happens. A backup is kept when any rule keeps it; the reasons are listed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from operations.models import ACTIVE_STATUSES, Backup, BackupCopy, OperationRun, RetentionPolicy


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
    offsite: set[int] | None = None,
) -> list[Verdict]:
    """Keep or remove each backup, newest first, with the reasons. ``offsite``: the backups with an off-site copy
    (a local dump pruned while its copy stays is not missing but off-site only)."""
    in_use = in_use or {}
    offsite = offsite or set()
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
        if not exists and backup.pk in offsite:
            verdicts.append(Verdict(backup, True, ["off-site only (its local dump was pruned): the off-site policy"]))
            continue
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
        offsite=backups_with_copies(target_name),
    )


def backups_with_copies(target_name: str) -> set[int]:
    """The target's backups that have a good off-site copy."""
    return set(
        BackupCopy.objects.filter(backup__target=target_name, state=BackupCopy.State.OK).values_list(
            "backup_id", flat=True
        )
    )


@dataclasses.dataclass
class CopyVerdict:
    copy: BackupCopy
    keep: bool
    reasons: list[str]

    def as_dict(self) -> dict:
        return {"id": self.copy.pk, "backup": self.copy.backup_id, "keep": self.keep, "reasons": self.reasons}

    def line(self) -> str:
        c = self.copy
        return (
            f"{'keep  ' if self.keep else 'REMOVE'} off-site copy {c.location} "
            f"(of {c.backup.created_at:%Y-%m-%d %H:%M} UTC): {'; '.join(self.reasons)}"
        )


def decide_copies(
    copies: Iterable[BackupCopy],
    policy: RetentionPolicy,
    now: dt.datetime,
    *,
    in_use: dict[int, int] | None = None,
    lock_days: int = 0,
) -> list[CopyVerdict]:
    """Keep or remove each off-site copy, by the off-site policy: the newest N copies, and every copy of a backup
    younger than N days; the newest copy, the copy of a backup a run uses and a copy inside the remote's object
    lock window (``lock_days`` from its copy) always stay. Copies that are not (yet) good go with their backup only,
    never by this policy."""
    in_use = in_use or {}
    good = sorted(
        (c for c in copies if c.state == BackupCopy.State.OK),
        key=lambda c: (c.backup.created_at, c.backup_id, c.pk),
        reverse=True,
    )
    verdicts = []
    for rank, copy in enumerate(good, start=1):
        reasons = []
        if rank == 1:
            reasons.append("the newest off-site copy")
        if copy.backup_id in in_use:
            reasons.append(f"its backup is used by run #{in_use[copy.backup_id]}")
        if rank <= policy.offsite_keep_last:
            reasons.append(f"one of the newest {policy.offsite_keep_last} off-site")
        if lock_days and copy.copied_at and now - copy.copied_at < dt.timedelta(days=lock_days):
            reasons.append(f"inside the remote's object lock window ({lock_days} days from its copy)")
        age = now - copy.backup.created_at
        if policy.offsite_keep_days and age < dt.timedelta(days=policy.offsite_keep_days):
            reasons.append(f"younger than {policy.offsite_keep_days} days")
        if reasons:
            verdicts.append(CopyVerdict(copy, True, reasons))
        else:
            verdicts.append(
                CopyVerdict(
                    copy,
                    False,
                    [
                        f"not among the newest {policy.offsite_keep_last} off-site"
                        + (f" nor younger than {policy.offsite_keep_days} days" if policy.offsite_keep_days else "")
                    ],
                )
            )
    return verdicts


def decide_copies_for(target_name: str, now: dt.datetime | None = None) -> list[CopyVerdict]:
    return decide_copies(
        BackupCopy.objects.filter(backup__target=target_name).select_related("backup"),
        RetentionPolicy.current(),
        now or timezone.now(),
        in_use=backups_in_use(),
        lock_days=settings.OFFSITE_LOCK_DAYS,
    )


def portal_db_path(backup: Backup, backup_dir: Path) -> Path | None:
    """The copy of the portal's database beside the dump, if the backup has one (a plain name in the same dir)."""
    name = backup.portal_db_file
    if not name:
        return None
    if "/" in name or "\\" in name or name in {".", ".."}:
        raise ValueError(f"{name!r} is not a file name in the backups directory")
    return Path(backup_dir) / name
