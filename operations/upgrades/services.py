"""What the upgrade page and ``manage.py migrate-store`` call: they never differ in what they do.

Each function validates, then hands over to the runner (``operations/runs/engine.py``), which records the run and has a
Celery worker carry it out.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser, AnonymousUser

from operations.runs.contract import OperationFailed
from operations.runs.requests import request

from ..models import OperationRun, RunStatus
from ..targets import Target, get_target
from . import registry
from .base import MigrationProcedure, completed_steps


def can_migrate(user: AbstractUser | AnonymousUser | None) -> bool:
    return MigrationProcedure.allowed(user)


def confirmation_phrase(name: str) -> str:
    """What staff type to confirm: the migration's name."""
    return registry.get(name).name


def request_migration(
    name: str,
    *,
    confirmation: str,
    user: AbstractUser | AnonymousUser | None,
    label: str,
    target: Target | None = None,
    send: bool = True,
) -> OperationRun:
    """Request a run of migration ``name``; refused (OperationFailed) without the typed confirmation, when a
    precheck fails or when it is already applied; OperationBusy when another operation holds the target."""
    migration = registry.get(name)
    if confirmation.strip() != confirmation_phrase(name):
        raise OperationFailed(f"type the migration's name, {migration.name!r}, to confirm")
    target = target or get_target()
    return request(migration.make(target), user=user, label=label, send=send)


def interrupted_runs(target: Target | None = None) -> list[OperationRun]:
    """Migration runs whose worker died and that were not yet resumed or rolled back."""
    target = target or get_target()
    kinds = list(registry.BY_KIND)
    runs = []
    for run in OperationRun.objects.filter(target=target.name, kind__in=kinds, status=RunStatus.INTERRUPTED):
        if not OperationRun.objects.filter(target=run.target, kind=run.kind, pk__gt=run.pk).exists():
            runs.append(run)
    return runs


def _follow_up(
    run_id: int, how: str, *, user: AbstractUser | AnonymousUser | None, label: str, target: Target | None, send: bool
) -> OperationRun:
    previous = OperationRun.objects.filter(pk=run_id).first()
    if previous is None or previous.kind not in registry.BY_KIND:
        raise OperationFailed(f"there is no migration run #{run_id}")
    target = target or get_target(previous.target)
    params: dict[str, Any] = {f"{how}_of": previous.pk}
    if how == "resume":
        params["completed"] = completed_steps(previous)
    return request(registry.BY_KIND[previous.kind].make(target, params), user=user, label=label, send=send)


def resume(
    run_id: int,
    *,
    user: AbstractUser | AnonymousUser | None,
    label: str,
    target: Target | None = None,
    send: bool = True,
) -> OperationRun:
    """Continue an interrupted migration run from its last completed step."""
    return _follow_up(run_id, "resume", user=user, label=label, target=target, send=send)


def roll_back(
    run_id: int,
    *,
    user: AbstractUser | AnonymousUser | None,
    label: str,
    target: Target | None = None,
    send: bool = True,
) -> OperationRun:
    """Undo an interrupted migration run (for Neo4j 4.4 to 5: put the 4.4 data back and start it)."""
    return _follow_up(run_id, "rollback", user=user, label=label, target=target, send=send)
