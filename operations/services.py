"""What staff can ask of the operations side; the admin views and the management commands both call these."""

from __future__ import annotations

import getpass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.core.exceptions import PermissionDenied

from . import runner
from .models import Backup, OperationRun
from .procedures import BackupProcedure, CopyProcedure, RestoreProcedure, VerifyProcedure
from .runner import OperationBusy, OperationFailed
from .targets import Target, get_target

__all__ = [
    "OperationBusy",
    "OperationFailed",
    "cli_label",
    "request_backup",
    "request_restore",
    "preview_backup",
    "preview_restore",
    "request_verify",
    "request_copy",
    "store_counts",
    "active_run",
    "can_restore",
    "can_back_up",
    "can_migrate",
    "can_request",
    "cancel_run",
    "queue_consumers",
    "no_worker_warning",
]


def cli_label() -> str:
    """How a command-line request is recorded: ``cli:<operating-system user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli:unknown"


def _label(user: AbstractUser | AnonymousUser | None, label: str | None) -> str:
    if label:
        return label
    if user is not None and user.is_authenticated:
        return user.get_username()
    return cli_label()


def can_back_up(user: AbstractUser | AnonymousUser | None) -> bool:
    return user is None or user.has_perm("operations.request_backup")


def can_restore(user: AbstractUser | AnonymousUser | None) -> bool:
    """Restores need the explicit permission (superusers have every permission); None is the command line."""
    return user is None or user.has_perm("operations.restore_backup")


def can_migrate(user: AbstractUser | AnonymousUser | None) -> bool:
    return user is None or user.has_perm("operations.run_store_migration")


def can_request(user: AbstractUser | AnonymousUser | None, kind: str) -> bool:
    """Whether ``user`` may request a run of ``kind`` (and so cancel one): backups, restores, store migrations."""
    if kind in (BackupProcedure.kind, VerifyProcedure.kind, CopyProcedure.kind):
        return can_back_up(user)  # verifying and copying change nothing live: whoever may back up may do them
    if kind == RestoreProcedure.kind:
        return can_restore(user)
    if kind == "prune":
        return user is None or user.has_perm("operations.prune_backups")
    return can_migrate(user)


def cancel_run(
    run_id: int, user: AbstractUser | AnonymousUser | None = None, *, label: str | None = None
) -> OperationRun:
    """Cancel a pending run; OperationFailed says why not (running, already over, no such run)."""
    run = OperationRun.objects.filter(pk=run_id).first()
    if run is None:
        raise OperationFailed(f"there is no operation run #{run_id}")
    if not can_request(user, run.kind):
        raise PermissionDenied(f"you may not cancel {run.kind} runs: it needs the right to request them")
    return runner.cancel(run.pk, _label(user, label))


def queue_consumers(queue: str | None = None) -> list[str] | None:
    """The workers consuming ``queue`` (the default target's queue by default); None when the broker cannot be
    asked."""
    from .health import worker_queues

    queue = queue or runner.queue_for(settings.OPERATIONS_TARGET)
    workers = worker_queues()
    if workers is None:
        return None
    return sorted(worker for worker, queues in workers.items() if queue in queues)


def no_worker_warning(queue: str | None = None) -> str:
    """'' when a worker consumes the operations queue, else what to tell staff before and after a request."""
    queue = queue or runner.queue_for(settings.OPERATIONS_TARGET)
    consumers = queue_consumers(queue)
    if consumers is None:
        return f"the broker does not answer: no worker can take queue {queue!r} now; the run waits until one can"
    if not consumers:
        return (
            f"no worker is consuming queue {queue!r}; the run waits until one starts "
            f"(`celery -A alchemiscale_portal worker -Q {queue}`)"
        )
    return ""


def preview_backup(target: Target | None = None) -> list[dict[str, Any]]:
    return runner.plan(BackupProcedure(target or get_target(), {}))


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
    return runner.request(
        BackupProcedure(target or get_target(), params), user=user, label=_label(user, label), send=send
    )


def preview_restore(backup: Backup, target: Target | None = None) -> list[dict[str, Any]]:
    """The restore's steps and commands; OperationFailed when it would be refused (file missing, wrong version)."""
    return runner.preview(RestoreProcedure(target or get_target(backup.target), {"backup_id": backup.pk}))


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
    return runner.request(
        RestoreProcedure(target, {"backup_id": backup.pk}), user=user, label=_label(user, label), send=send
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
    return runner.request(procedure, user=user, label=_label(user, label), send=send)


def request_copy(
    backups, user: AbstractUser | AnonymousUser | None = None, *, label: str | None = None, send: bool = True
) -> OperationRun:
    """Queue one run copying ``backups`` (of one target) to the off-site remote and checking each copy's checksum
    (docs/offsite-copies.md); it needs the right to request backups."""
    if not can_back_up(user):
        raise PermissionDenied("copying a backup off-site needs the right to request backups")
    backups, target = _one_target_of(backups, "copy")
    procedure = CopyProcedure(get_target(target), {"backup_ids": [b.pk for b in backups]})
    return runner.request(procedure, user=user, label=_label(user, label), send=send)


def active_run(target_name: str | None = None) -> OperationRun | None:
    """The pending or running operation on the target, if any."""
    return runner.active_run(target_name or settings.OPERATIONS_TARGET)


def store_counts(target: Target | None = None) -> tuple[int, int] | None:
    """(nodes, relationships) now, or None when Neo4j does not answer."""
    target = target or get_target()
    try:
        return target.counts()
    except Exception:
        return None
