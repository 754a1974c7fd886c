"""The release upgrade as a run: named steps a worker carries out, recorded, resumable and reversible.

The steps, in the order of the guide's common upgrade (``release.py``):

* check again in the worker (the images, the services), then record each service's container and image;
* the backups app's backup, its steps run inside this run (one run holds the target at a time), named
  ``back up: ...``: online where the storage can snapshot the running store, else with its short outage;
* per service, re-create it on the new image (``operations/targets/docker/release_services.py``), then point
  compose's ``.env`` at it;
* per running service, wait until it answers its healthcheck;
* the schema migrations the registry says the new release needs (none for 0.8), their own steps run here;
* record the upgrade.

After a failure every service is put back on the image it ran (and the ``.env`` line too), each waited for again,
and the attempt recorded as failed with the reason. A run whose worker died after the first service moved is
recorded as interrupted and left as it is, to be resumed or rolled back (``base.py``), like the store migrations.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from django.conf import settings

from operations.backups.procedures import BackupProcedure
from operations.runs.contract import RunContext, Step

from ..models import AppliedMigration, ReleaseOutcome, ReleaseUpgrade
from ..targets import Target, TargetError, via_worker
from ..targets.docker import DockerTarget
from ..targets.docker.compose_env import RELEASE_IMAGE_VARIABLE, ComposeEnvFile
from ..targets.docker.release_services import ReleaseServices
from . import registry, release
from .base import MigrationProcedure

BACKUP_PREFIX = "back up: "


def services_of(target: Target) -> ReleaseServices:
    if not isinstance(target, DockerTarget):
        raise TargetError(
            f"release upgrades re-deploy alchemiscale's containers: they need the Docker target, not {target.name!r}"
        )
    return ReleaseServices(target.discovery, settings.ALCHEMISCALE_SERVICES)


def env_file() -> ComposeEnvFile:
    return ComposeEnvFile(
        Path(settings.COMPOSE_ENV_FILE) if settings.COMPOSE_ENV_FILE else None, RELEASE_IMAGE_VARIABLE
    )


def applied_names(target: Target) -> set[str]:
    return set(AppliedMigration.objects.filter(target=target.name, outcome="applied").values_list("name", flat=True))


class ReleaseUpgradeProcedure(MigrationProcedure):
    kind = "alchemiscale-release-upgrade"
    title = "Upgrade alchemiscale to another release"
    # The restorer's right: a release upgrade takes a backup and may put the deployment back, as a restore does.
    permission = "operations.restore_backup"
    migration_name = "alchemiscale-release"

    def __init__(self, target: Target, params: dict[str, Any]):
        super().__init__(target, params)
        if "services" in self.params:
            return
        # Decided once, when requested, and kept in the run's parameters: the worker plans the same steps.
        self.params.setdefault("tag", "")
        if via_worker():
            return  # this process does not reach the Docker engine: the worker decides, from the tag alone
        self.params.update(services=[], missing=[], from_tag="", to_image="", migrations=[])
        try:
            found, missing = services_of(target).found()
            self.params.update(services=[s.as_dict() for s in found], missing=missing)
            repository, from_tag = release.current(self.params["services"])
            to_image = release.new_image(repository, self.params["tag"])
            self.params.update(from_tag=from_tag, to_image=to_image)
            to_tag = release.split_image(to_image)[1]
            self.params["migrations"] = release.needed_migrations(
                from_tag, to_tag, registry.MIGRATIONS, applied_names(target)
            )
            self.params["backup"] = BackupProcedure(target, {}).params
        except (TargetError, release.BadTag):
            pass  # the prechecks say why
        self.params.setdefault("backup", {})

    # -- prechecks (base.py runs them before a request and again as the first step) ----------------------------
    @property
    def to_tag(self) -> str:
        return release.split_image(self.params["to_image"])[1] if self.params.get("to_image") else self.params["tag"]

    def check_not_applied(self) -> list[str]:
        return []  # a deployment moves from release to release: there is no "already applied"

    def check_versions(self) -> list[str]:
        try:
            services = services_of(self.target)
            present = bool(self.params["to_image"]) and services.image_present(self.params["to_image"])
        except TargetError as exc:
            return [str(exc)]
        return release.problems(
            found=self.params["services"],
            missing=self.params["missing"],
            to_tag=self.params["tag"],
            new_image_present=present,
            migrations=self.params["migrations"],
            cli_image=settings.ALCHEMISCALE_IMAGE,
        )

    def check_new_version(self) -> list[str]:
        return env_file().problems()

    # -- the plan -------------------------------------------------------------------------------------------------
    def steps_for_run(self) -> list[Step]:
        p, t = self.params, self.target
        image = p["to_image"] or f"<the repository>:{p['tag']}"
        services = p["services"]
        backup = [
            dataclasses.replace(s, name=BACKUP_PREFIX + s.name) for s in BackupProcedure(t, dict(p["backup"])).steps()
        ]
        moves = [
            Step(
                f"re-create {s['service']}",
                self._mover(s["service"], start=s["running"]),
                f"stop {s['container']}, re-create it on {image} with everything compose gave it (name, labels, "
                f"environment, user, mounts, restart policy, networks, healthcheck), remove the old container"
                + (", start it" if s["running"] else "; it was not running, so it is left stopped"),
                # What the step does through the engine's API, as an operator would by hand (.env updated first).
                commands=[
                    ["docker", "stop", s["container"]],
                    ["docker", "rm", s["container"]],
                    ["docker-compose", "up", *(["-d"] if s["running"] else ["--no-start"]), "--no-deps", s["service"]],
                ],
            )
            for s in services
        ]
        checks = [
            Step(
                f"wait for {s['service']}",
                self._waiter(s["service"]),
                f"until it answers its healthcheck on {image}"
                if s["health"]
                else f"until it has kept running on {image} without a restart (it has no healthcheck)",
                commands=[["docker", "exec", s["container"], *s["health"]]] if s["health"] else [],
            )
            for s in services
            if s["running"]
        ]
        return [
            Step(
                "check the upgrade applies",
                self.check_step,
                f"the alchemiscale services run {p['from_tag'] or '?'}, {image} is on the engine, Neo4j answers",
            ),
            Step(
                "record the services",
                self.record_services,
                "each service's container, image and state, to put back after a failure: "
                + (", ".join(f"{s['service']} ({s['image']})" for s in services) or "none found"),
            ),
            *backup,
            *moves,
            Step("point compose's .env at the new image", self.point_env, env_file().plan(image)),
            *checks,
            Step(
                "run the schema migrations the release needs",
                self.migrate_schema,
                f"the registry's schema migrations between {p['from_tag'] or '?'} and {self.to_tag}: "
                + (", ".join(p["migrations"]) or "none"),
            ),
            Step("record the upgrade", self.record_upgraded, "the release upgrades' record"),
            Step(
                "put every service back on its old image",
                self.put_back,
                "after a failure: each service re-created on the image it ran, started if it ran, and the .env "
                "line set back",
                when="failure",
            ),
            Step(
                "wait for the services on their old image",
                self.wait_put_back,
                "after a failure: each running service answers its healthcheck again",
                when="failure",
            ),
            Step("record the failed attempt", self.record_failed, "the release upgrades' record", when="failure"),
        ]

    # -- steps ----------------------------------------------------------------------------------------------------
    def record_services(self, ctx: RunContext) -> str:
        found, _ = services_of(self.target).found()
        ctx.remember(release_before=[s.as_dict() for s in found])
        return "\n".join(
            f"{s.service}: {s.container} on {s.image} ({'running' if s.running else 'stopped'})" for s in found
        )

    def _mover(self, service: str, *, start: bool):
        def move(ctx: RunContext) -> str:
            moved = ctx.state.get("release_moved", [])
            # Remembered first: a worker dying mid-move must still leave a run that knows what to put back.
            ctx.remember(release_moved=sorted({*moved, service}))
            return services_of(self.target).move(service, self.params["to_image"], start=start)

        return move

    def _waiter(self, service: str):
        def wait(ctx: RunContext) -> str:
            return services_of(self.target).wait_healthy(service, settings.RELEASE_HEALTH_TIMEOUT)

        return wait

    def point_env(self, ctx: RunContext) -> str:
        ctx.remember(release_env=True)
        return env_file().point_at(self.params["to_image"])

    def migrate_schema(self, ctx: RunContext) -> str:
        out = []
        for name in self.params["migrations"]:
            procedure = registry.get(name).make(self.target)
            for step in procedure.steps_for_run():
                if step.when == "ok":
                    ctx.log(f"{name}: {step.name}")
                    out.append(f"{name}: {step.name}: {step.run(ctx) or 'done'}")
        return "\n".join(out) or f"none: the registry lists no schema migration up to {self.to_tag}"

    def put_back(self, ctx: RunContext) -> str:
        services, done = services_of(self.target), []
        before = ctx.state.get("release_before", [])
        for s in before:
            if s["service"] in ctx.state.get("release_moved", []):
                done.append(services.move(s["service"], s["image"], start=s["running"]))
        if ctx.state.get("release_env") and before:
            done.append(env_file().point_at(before[0]["image"]))
        ctx.remember(release_moved=[], release_env=False, release_put_back=[s["service"] for s in before])
        return "\n".join(done) or "no service had been moved"

    def wait_put_back(self, ctx: RunContext) -> str:
        services = services_of(self.target)
        out = [
            services.wait_healthy(s["service"], settings.RELEASE_HEALTH_TIMEOUT)
            for s in ctx.state.get("release_before", [])
            if s["running"]
        ]
        return "\n".join(out) or "no service was running"

    def _record(self, ctx: RunContext, outcome: str, **details: Any) -> ReleaseUpgrade:
        run, before = ctx.run, ctx.state.get("release_before") or self.params["services"]
        return ReleaseUpgrade.objects.create(
            target=run.target,
            from_tag=self.params["from_tag"],
            to_tag=self.to_tag,
            from_image=before[0]["image"] if before else "",
            to_image=self.params["to_image"],
            outcome=outcome,
            by=run.requested_by,
            by_label=run.requested_by_label,
            run=run,
            details={"services": before, "backup": ctx.state.get("file_name"), **details},
        )

    def record_upgraded(self, ctx: RunContext) -> str:
        record = self._record(ctx, ReleaseOutcome.UPGRADED, migrations=self.params["migrations"])
        return (
            f"recorded (#{record.pk}): {record.from_tag} -> {record.to_tag}. Tell the users: the release page's "
            f"'Tell users' sends them the notice"
        )

    def record_failed(self, ctx: RunContext) -> str:
        outcome = ReleaseOutcome.ROLLED_BACK if self.params.get("rollback_of") else ReleaseOutcome.FAILED
        failed = [f"{s.name}: {s.output.strip()[-500:]}" for s in ctx.run.steps.filter(status="failed")]
        record = self._record(ctx, outcome, why=failed)
        return f"recorded as {outcome} (#{record.pk})"

    def recover(self, ctx: RunContext) -> list[str]:
        """The worker died mid-run: the backup's leftovers are cleared and Neo4j started again if the backup had
        stopped it; services already moved are left as they are, to be resumed or rolled back by staff."""
        done = BackupProcedure(self.target, dict(self.params["backup"])).recover(ctx)
        if ctx.state.get("release_moved"):
            self._record(ctx, ReleaseOutcome.INTERRUPTED, moved=ctx.state["release_moved"])
            done.append(
                f"services {', '.join(ctx.state['release_moved'])} may already run {self.params['to_image']}; left "
                f"as they are: resume or roll back from the release upgrade page"
            )
        return done
