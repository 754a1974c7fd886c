"""What staff can ask of backups; the admin views, the management commands and the unattended care all call these.

Each function checks the person's right (None is the command line, which may do everything), builds the procedure
and hands it to the run machinery (operations/runs/requests.py). The modules beside this one (offsite, retention)
decide and carry out; only this one requests runs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, BinaryIO

from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from security.actors import Actor

from ..models import Backup, BackupCopy, OperationRun
from ..runs.contract import OperationBusy, OperationFailed
from ..runs.requests import active_run, label_for, plan, preview, request
from ..targets import Target, get_target
from . import offsite
from .procedures import BackupProcedure, CopyProcedure, PruneProcedure, RestoreProcedure, VerifyProcedure

User = AbstractUser | AnonymousUser | None


def can_back_up(user: User) -> bool:
    return BackupProcedure.allowed(user)


def can_restore(user: User) -> bool:
    """Restores need the explicit permission (superusers have every permission); None is the command line."""
    return RestoreProcedure.allowed(user)


def can_prune(user: User) -> bool:
    return PruneProcedure.allowed(user)


def preview_backup(target: Target | None = None) -> list[dict[str, Any]]:
    return plan(BackupProcedure(target or get_target(), {}))


def request_backup(
    user: AbstractUser | AnonymousUser | None = None,
    *,
    label: str | None = None,
    target: Target | None = None,
    ignore_free_space: bool = False,
    send: bool = True,
) -> OperationRun:
    """Queue a backup (``send=False``: the caller carries it out); OperationBusy names the active run when the
    target is busy. ``ignore_free_space``: go on when the backups directory has less room than the dump is expected
    to need (refused otherwise)."""
    if not can_back_up(user):
        raise PermissionDenied("you may not request backups")
    params = {"ignore_free_space": True} if ignore_free_space else {}
    return request(BackupProcedure(target or get_target(), params), user=user, label=label_for(user, label), send=send)


def preview_restore(backup: Backup, target: Target | None = None) -> list[dict[str, Any]]:
    """The restore's steps and commands; OperationFailed when it would be refused (file missing, wrong version)."""
    return preview(RestoreProcedure(target or get_target(backup.target), {"backup_id": backup.pk}))


def request_restore(
    backup: Backup,
    confirmation: str,
    user: AbstractUser | AnonymousUser | None = None,
    *,
    label: str | None = None,
    target: Target | None = None,
    send: bool = True,
) -> OperationRun:
    """Queue a restore of ``backup``; ``confirmation`` must be the database name, typed by the person asking."""
    if not can_restore(user):
        raise PermissionDenied("restoring needs the 'Can restore the state store from a backup' permission")
    target = target or get_target(backup.target)
    if confirmation != target.connection.database:
        raise OperationFailed(f"type the database name {target.connection.database!r} to confirm the restore")
    return request(
        RestoreProcedure(target, {"backup_id": backup.pk}), user=user, label=label_for(user, label), send=send
    )


def _one_target_of(backups, verb: str) -> tuple[list[Backup], str]:
    """``backups`` (one or several) as a list, and the one target they are all of; OperationFailed otherwise."""
    backups = [backups] if isinstance(backups, Backup) else list(backups)
    targets = {b.target for b in backups}
    if not backups:
        raise OperationFailed(f"no backup to {verb}")
    if len(targets) > 1:
        raise OperationFailed(
            f"the backups are of several targets ({', '.join(sorted(targets))}); {verb} each target's separately"
        )
    return backups, targets.pop()


def request_verify(
    backups, user: AbstractUser | AnonymousUser | None = None, *, label: str | None = None, send: bool = True
) -> OperationRun:
    """Queue one run verifying ``backups`` (one or several, of one target, in the order given) in a scratch Neo4j
    (docs/verification.md); it needs the right to request backups, and takes the target's one active run."""
    if not can_back_up(user):
        raise PermissionDenied("verifying a backup needs the right to request backups")
    backups, target = _one_target_of(backups, "verify")
    procedure = VerifyProcedure(get_target(target), {"backup_ids": [b.pk for b in backups]})
    return request(procedure, user=user, label=label_for(user, label), send=send)


def request_copy(
    backups, user: AbstractUser | AnonymousUser | None = None, *, label: str | None = None, send: bool = True
) -> OperationRun:
    """Queue one run copying ``backups`` (of one target) to the off-site remote and checking each copy's checksum
    (docs/offsite-copies.md); it needs the right to request backups."""
    if not can_back_up(user):
        raise PermissionDenied("copying a backup off-site needs the right to request backups")
    backups, target = _one_target_of(backups, "copy")
    procedure = CopyProcedure(get_target(target), {"backup_ids": [b.pk for b in backups]})
    return request(procedure, user=user, label=label_for(user, label), send=send)


def store_counts(target: Target | None = None) -> tuple[int, int] | None:
    """(nodes, relationships) now, or None when Neo4j does not answer."""
    target = target or get_target()
    try:
        return target.counts()
    except Exception:
        return None


def open_dump(backup: Backup) -> BinaryIO:
    """The backup's dump, open for reading (a download); OperationFailed with what to do when it is not here."""
    target = get_target(backup.target)
    try:
        path = backup.path_in(target.backup_dir)
    except ValueError as exc:
        raise OperationFailed(str(exc)) from None
    try:
        stream = path.open("rb")
    except FileNotFoundError:
        copied = backup.copies.filter(state=BackupCopy.State.OK).exists()
        where = "; it has an off-site copy (a restore fetches it)" if copied else ""
        raise OperationFailed(
            f"The dump {backup.file_name} is not in {target.backup_dir} on this machine{where}"
        ) from None
    except OSError as exc:
        raise OperationFailed(f"{path} cannot be read here: {exc.strerror}") from None
    return stream


def request_prune(user: User = None, *, label: str | None = None, send: bool = True, target=None) -> OperationRun:
    """Queue a prune of the target's backups by the retention policy; OperationBusy while another run is active."""
    if not can_prune(user):
        raise PermissionDenied("pruning backups needs the 'Can prune backups by the retention policy' permission")
    return request(PruneProcedure(target or get_target(), {}), user=user, label=label_for(user, label), send=send)


def retry_failed_copies(now: dt.datetime | None = None) -> list[OperationRun]:
    """Ask for a copy run, per target, of the failed copies whose retry time has come (beat calls this). A target
    busy with another run is tried again at the next look."""
    now = now or timezone.now()
    runs = []
    for target, copies in offsite.due_retries(now).items():
        if active_run(target) is not None:
            continue
        try:
            run = request_copy([c.backup for c in copies], None, label=Actor.retry("offsite").label)
        except (OperationBusy, OperationFailed):
            continue
        # The run sets the outcome; should it never run (cancelled, lost), the copy falls due again later.
        for copy in copies:
            BackupCopy.objects.filter(pk=copy.pk).update(next_attempt_at=now + offsite.retry_delay(copy.attempts))
        runs.append(run)
    return runs
