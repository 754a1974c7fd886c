"""``DockerTarget``: the :class:`~operations.targets.base.Target` interface over the package's collaborators.

The class owns no Docker logic of its own: it builds one of each collaborator from its settings and hands every
``Target`` method to the one that owns the concern (see the package docstring for the map).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings

from ...target_names import DOCKER_TARGET
from ..base import AdminResult, Connection, Target, TargetError
from .alchemiscale import ComposeAlchemiscaleCli
from .compose_env import ComposeEnvFile
from .discovery import Discovery
from .jobs import CONTAINER_BACKUP_DIR, Jobs
from .lifecycle import Lifecycle
from .recreate import Recreator
from .scratch import Scratch
from .side import SideStore
from .versions import Versions


class DockerTarget(Target):
    name = DOCKER_TARGET

    def __init__(
        self,
        connection: Connection,
        backup_dir: Path,
        start_timeout: float = 180.0,
        *,
        project: str = "alchemiscale-server",
        service: str = "neo4j",
        docker_host: str | None = None,
        admin_image: str | None = None,
        data_dir: Path | None = None,
        host_backup_dir: Path | None = None,
        stop_timeout: float = 120.0,
        alchemiscale_image: str = "ghcr.io/openforcefield/alchemiscale-server:v0.4.0",
        db_network: str | None = None,
        alchemiscale_timeout: float = 3600.0,
        compose_env_file: Path | None = None,
    ):
        super().__init__(connection, backup_dir, start_timeout)
        self.discovery = Discovery(
            project, service, docker_host=docker_host, admin_image=admin_image, data_dir=data_dir
        )
        self.jobs = Jobs(self.discovery, self.backup_dir, Path(host_backup_dir) if host_backup_dir else self.backup_dir)
        # Neo4j takes about ten seconds to stop cleanly; compose's default of 10 s would kill it mid-checkpoint.
        self.lifecycle = Lifecycle(self.discovery, self.jobs, stop_timeout)
        self.env_file = ComposeEnvFile(compose_env_file)
        self.versions = Versions(self.discovery, Recreator(self.discovery), self.env_file)
        self.scratch = Scratch(self.jobs, self.scratch_dir())
        self._alchemiscale_cli = ComposeAlchemiscaleCli(
            self, self.discovery, self.jobs, alchemiscale_image, db_network or f"{project}_db", alchemiscale_timeout
        )

    @classmethod
    def from_settings(cls, connection: Connection, backup_dir: Path, start_timeout: float) -> DockerTarget:
        if settings.DOCKER_NEO4J_URL:
            connection = dataclasses.replace(connection, url=settings.DOCKER_NEO4J_URL)
        return cls(
            connection,
            backup_dir,
            start_timeout,
            project=settings.DOCKER_PROJECT,
            service=settings.DOCKER_SERVICE,
            admin_image=settings.NEO4J_ADMIN_IMAGE,
            data_dir=Path(settings.NEO4J_DATA_DIR) if settings.NEO4J_DATA_DIR else None,
            host_backup_dir=Path(settings.DOCKER_BACKUP_HOST_DIR) if settings.DOCKER_BACKUP_HOST_DIR else None,
            stop_timeout=settings.NEO4J_STOP_TIMEOUT,
            alchemiscale_image=settings.ALCHEMISCALE_IMAGE,
            db_network=settings.DOCKER_DB_NETWORK or None,
            alchemiscale_timeout=settings.ALCHEMISCALE_CLI_TIMEOUT,
            compose_env_file=Path(settings.COMPOSE_ENV_FILE) if settings.COMPOSE_ENV_FILE else None,
        )

    # -- the deployment (discovery.py) ------------------------------------------------------------------------
    @property
    def project(self) -> str:
        return self.discovery.project

    @property
    def service(self) -> str:
        return self.discovery.service

    @property
    def docker_host(self) -> str | None:
        return self.discovery.docker_host

    @property
    def engine(self) -> str:
        return self.discovery.engine

    @property
    def host_backup_dir(self) -> Path:
        return self.jobs.host_backup_dir

    def client(self):
        """A connected Docker client, or TargetError saying the engine cannot be reached."""
        return self.discovery.client()

    def container(self):
        """The deployment's Neo4j container, found by its compose labels."""
        return self.discovery.container()

    def describe(self) -> str:
        d = self.discovery
        try:
            c = d.container()
        except TargetError:
            return f"Docker: compose project {d.project!r}, service {d.service!r} on {d.engine}"
        return (
            f"Docker container {c.name} (compose project {d.project!r}, service {d.service!r}), "
            f"image {d.image_name(c)}, on {d.engine}"
        )

    @property
    def data_dir(self) -> Path:
        return self.discovery.data_dir

    @property
    def host_data_dir(self) -> Path:
        return self.discovery.host_data_dir

    @property
    def admin_backup_dir(self) -> PurePosixPath:
        return CONTAINER_BACKUP_DIR

    def data_owner(self) -> tuple[int, int]:
        return self.discovery.data_owner()

    # -- running state (lifecycle.py) ---------------------------------------------------------------------------
    def is_up(self) -> bool:
        return self.lifecycle.is_up()

    def stop(self) -> None:
        self.lifecycle.stop()

    def start_process(self) -> None:
        self.lifecycle.start()

    def wait_for_bolt(self, timeout: float | None = None) -> None:
        """Wait for Bolt, but give up at once, with the container's last words, when it stops running or crashes."""
        limit = self.start_timeout if timeout is None else timeout
        self.lifecycle.wait_for_bolt(self.connection.url, limit, lambda left: Target.wait_for_bolt(self, timeout=left))

    # -- one-off job containers (jobs.py) ---------------------------------------------------------------------
    def stop_admin(self) -> list[str]:
        return self.jobs.sweep()

    def admin_command(self, args: list[str], image: str | None = None) -> list[str]:
        return self.jobs.admin_command(args, image=image)

    def admin(self, args: list[str]) -> AdminResult:
        return self.jobs.admin(args)

    def run_job(self, entrypoint: list[str], args: list[str], *, user: str | None = None) -> AdminResult:
        return self.jobs.run_job(entrypoint, args, user=user)

    def fix_ownership(self, paths: list[Path]) -> str:
        return self.jobs.fix_ownership(paths)

    # -- the Neo4j version (versions.py, recreate.py, compose_env.py) -----------------------------------------------
    def neo4j_version(self) -> str:
        return self.versions.current()

    def image_for(self, version: str) -> tuple[str, Any]:
        return self.versions.image_for(version)

    def check_neo4j_version(self, version: str) -> list[str]:
        return self.versions.check(version)

    def switch_description(self, version: str) -> str:
        return self.versions.describe_switch(version)

    def use_neo4j_version(self, version: str) -> str:
        old = self.container()
        if self.is_up():
            raise TargetError(f"container {old.name} must be stopped before switching it to Neo4j {version}")
        return self.versions.switch(old, version)

    def version_follow_up(self, version: str) -> str:
        return self.versions.follow_up(version)

    def admin_command_for(self, version: str, args: list[str]) -> list[str]:
        """The ``docker run`` line once the container runs ``version`` (its image, or the name to pull)."""
        return self.jobs.admin_command(args, image=self.versions.image_name_for(version))

    # -- verifying a backup (scratch.py) ----------------------------------------------------------------------
    def scratch_path(self, path: Path) -> str:
        return self.scratch.path(path)

    def scratch_admin_command(self, args: list[str]) -> list[str]:
        return self.scratch.admin_command(args)

    def scratch_admin(self, args: list[str]) -> AdminResult:
        return self.scratch.admin(args)

    def scratch_counts(self) -> tuple[int, int]:
        return self.scratch.counts(self.connection.database, self.start_timeout)

    # -- side stores: snapshot and staging (side.py, docs/outage.md) -------------------------------------------
    def side_admin_command(self, root: Path, args: list[str]) -> list[str]:
        return SideStore(self.jobs, root).admin_command(args)

    def side_admin(self, root: Path, args: list[str]) -> AdminResult:
        return SideStore(self.jobs, root).admin(args)

    def neo4j_log_tail(self) -> str:
        try:
            return self.discovery.container().logs(tail=3000).decode(errors="replace")
        except Exception:  # no engine, no container: nothing to measure by
            return ""

    def side_read(self, root: Path, statements: list[str]) -> list[list[list[Any]]]:
        return SideStore(self.jobs, root).read(self.connection.database, statements, self.start_timeout)

    def stop_side(self, root: Path) -> list[str]:
        # One run at a time holds the target, so every one-off container of it is that run's.
        return self.stop_admin()

    # -- alchemiscale's CLI (alchemiscale.py) -----------------------------------------------------------------
    @property
    def alchemiscale_cli(self) -> ComposeAlchemiscaleCli:
        return self._alchemiscale_cli
