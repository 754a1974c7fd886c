"""What the release upgrade page and ``manage.py upgrade_release`` call: they never differ in what they do.

Each function checks the person's right (None is the command line), builds the procedure
(``release_procedure.py``) and hands it to the run machinery, which records the run and has a worker carry it out.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.core.exceptions import PermissionDenied

from operations.checks import Check
from operations.runs import worker_calls
from operations.runs.contract import OperationFailed
from operations.runs.requests import plan, queue_for, request

from ..models import OperationRun, ReleaseUpgrade, RunStatus
from ..targets import Target, TargetError, get_target
from ..targets.docker import DockerTarget
from .base import completed_steps
from .release_procedure import ReleaseUpgradeProcedure, services_of

User = AbstractUser | AnonymousUser | None


def can_upgrade(user: User) -> bool:
    return ReleaseUpgradeProcedure.allowed(user)


def release_target() -> Target:
    """The Docker target: the one a release upgrade re-deploys alchemiscale's containers on."""
    return get_target(DockerTarget.name)


@dataclasses.dataclass
class ReleaseOverview:
    """What the page and ``--plan`` show: the services and their images, other services left alone, and, for a
    tag, the prechecks and the steps."""

    services: list[dict[str, Any]]
    missing: list[str]
    others: list[str]
    error: str = ""
    prechecks: list[Check] = dataclasses.field(default_factory=list)
    steps: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    procedure: ReleaseUpgradeProcedure | None = None

    @property
    def ready(self) -> bool:
        return bool(self.procedure) and all(c.ok for c in self.prechecks)


def overview(tag: str = "", target: Target | None = None) -> ReleaseOverview:
    """The services and images, and for a tag the prechecks and steps; a web process that does not reach the Docker
    engine (PORTAL_TARGET_VIA_WORKER) asks the target's worker, which runs this same function."""
    target = target or release_target()
    if worker_calls.via_worker():
        try:
            found = worker_calls.call(
                target.name, queue_for(target.name), "release_overview", {"tag": tag, "target": target.name}
            )
        except OperationFailed as exc:
            return ReleaseOverview([], [], [], error=str(exc))
        checks = [Check(name, ok, detail) for name, ok, detail in found["prechecks"]]
        result = ReleaseOverview(found["services"], found["missing"], found["others"], found["error"], checks)
        result.steps = found["steps"]
        if found["planned"]:
            result.procedure = ReleaseUpgradeProcedure(target, {"tag": tag.strip()})
        return result
    try:
        services = services_of(target)
        found, missing = services.found()
        others = services.others()
    except TargetError as exc:
        return ReleaseOverview([], [], [], error=str(exc))
    result = ReleaseOverview([s.as_dict() for s in found], missing, others)
    if tag.strip():
        procedure = ReleaseUpgradeProcedure(target, {"tag": tag.strip()})
        result.procedure = procedure
        result.prechecks = procedure.prechecks()
        result.steps = plan(procedure)
    return result


@worker_calls.answers("release_overview")
def _overview_on_worker(payload: dict[str, Any]) -> dict[str, Any]:
    found = overview(payload["tag"], get_target(payload["target"]))
    return {
        "services": found.services,
        "missing": found.missing,
        "others": found.others,
        "error": found.error,
        "prechecks": [[c.name, c.ok, c.detail] for c in found.prechecks],
        "steps": found.steps,
        "planned": found.procedure is not None,
    }


def confirmation_phrase(tag: str) -> str:
    """What staff type to confirm: the tag again."""
    return tag.strip()


def request_upgrade(
    tag: str, *, confirmation: str, user: User, label: str, target: Target | None = None, send: bool = True
) -> OperationRun:
    """Request a release upgrade to ``tag``; refused without the typed tag, when a precheck fails, or (OperationBusy)
    when another operation holds the target."""
    if not can_upgrade(user):
        raise PermissionDenied("release upgrades need the restorer's right to restore the state store")
    if not tag.strip():
        raise OperationFailed("which release? give its tag, e.g. v0.8.0")
    if confirmation.strip() != confirmation_phrase(tag):
        raise OperationFailed(f"type the tag, {tag.strip()!r}, to confirm")
    target = target or release_target()
    return request(ReleaseUpgradeProcedure(target, {"tag": tag.strip()}), user=user, label=label, send=send)


def interrupted_runs(target: Target | None = None) -> list[OperationRun]:
    """Release upgrade runs whose worker died and that were not yet resumed or rolled back."""
    name = (target or release_target()).name
    kind = ReleaseUpgradeProcedure.kind
    return [
        run
        for run in OperationRun.objects.filter(target=name, kind=kind, status=RunStatus.INTERRUPTED)
        if not OperationRun.objects.filter(target=name, kind=kind, pk__gt=run.pk).exists()
    ]


def follow_up(run_id: int, how: str, *, user: User, label: str, target: Target | None = None, send: bool = True):
    """Resume (``how="resume"``) or roll back (``"rollback"``) an interrupted release upgrade run."""
    if not can_upgrade(user):
        raise PermissionDenied("release upgrades need the restorer's right to restore the state store")
    previous = OperationRun.objects.filter(pk=run_id, kind=ReleaseUpgradeProcedure.kind).first()
    if previous is None:
        raise OperationFailed(f"there is no release upgrade run #{run_id}")
    params: dict[str, Any] = {**previous.params, f"{how}_of": previous.pk}
    params.pop("resume_of" if how == "rollback" else "rollback_of", None)
    if how == "resume":
        params["completed"] = completed_steps(previous)
    target = target or get_target(previous.target)
    return request(ReleaseUpgradeProcedure(target, params), user=user, label=label, send=send)


def latest_upgrade(target: Target | None = None) -> ReleaseUpgrade | None:
    return ReleaseUpgrade.objects.filter(target=(target or release_target()).name, outcome="upgraded").first()
