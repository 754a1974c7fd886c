"""``LocalTarget``: the :class:`~operations.targets.base.Target` interface over the package's collaborators.

The class builds one of each collaborator from its settings and hands every ``Target`` method to the one that owns
the concern (see the package docstring for the map); what is its own is where the scratch and side stores live and
the switch between Neo4j versions (``PORTAL_NEO4J_SWITCH_COMMAND``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ...target_names import LOCAL_TARGET
from ..alchemiscale_cli import AlchemiscaleCli, LocalAlchemiscaleCli
from ..base import AdminResult, Connection, Target, TargetError
from ..common import command_text
from . import java
from .admin import AdminTool
from .installation import Installation
from .own_servers import OwnServers
from .supervisor import Supervisor

#: how much of the end of neo4j.log is read for the last stop and start
LOG_TAIL_BYTES = 256 << 10


class LocalTarget(Target):
    name = LOCAL_TARGET

    def __init__(
        self,
        home: Path,
        connection: Connection,
        backup_dir: Path,
        start_timeout: float = 180.0,
        *,
        conf_dir: Path | None = None,
        admin: list[str] | None = None,
        start_command: list[str] | None = None,
        stop_command: list[str] | None = None,
        status_command: list[str] | None = None,
        switch_command: list[str] | None = None,
    ):
        super().__init__(connection, backup_dir, start_timeout)
        self.installation = Installation(home, conf_dir)
        bin_dir = self.installation.home / "bin"
        self.supervisor = Supervisor(
            self.installation,
            start_command=list(start_command or [str(bin_dir / "neo4j"), "start"]),
            stop_command=list(stop_command or [str(bin_dir / "neo4j"), "stop"]),
            status_command=list(status_command or []),
            timeout=start_timeout,
        )
        self.admin_tool = AdminTool(self.installation, list(admin or [str(bin_dir / "neo4j-admin")]))
        self.own_servers = OwnServers(self.installation, self.admin_tool, start_timeout)
        self.switch_command = list(switch_command or [])

    @classmethod
    def from_settings(cls, **common) -> LocalTarget:
        if settings.NEO4J_HOME is None:
            raise ImproperlyConfigured(
                "PORTAL_NEO4J_HOME must name the Neo4j installation's home directory for the local operations target "
                "(docs/local-target.md)"
            )
        return cls(
            home=settings.NEO4J_HOME,
            conf_dir=settings.NEO4J_CONF_DIR,
            admin=settings.NEO4J_ADMIN,
            start_command=settings.NEO4J_START_COMMAND,
            stop_command=settings.NEO4J_STOP_COMMAND,
            status_command=settings.NEO4J_STATUS_COMMAND,
            switch_command=settings.NEO4J_SWITCH_COMMAND,
            **common,
        )

    # -- the installation, as its files say (installation.py) -----------------------------------------------------
    @property
    def home(self) -> Path:
        return self.installation.home

    @property
    def conf_dir(self) -> Path:
        return self.installation.conf_dir

    @property
    def conf_file(self) -> Path:
        return self.installation.conf_file

    def directory(self, which: str, conf: Path | None = None) -> Path:
        return self.installation.directory(which, conf)

    @property
    def data_dir(self) -> Path:
        return self.installation.data_dir

    @property
    def pid_file(self) -> Path:
        return self.installation.pid_file

    @property
    def operation_lock_file(self) -> Path:
        return self.installation.operation_lock_file

    def describe(self) -> str:
        try:
            version = self.neo4j_version()
        except TargetError:
            version = "(version unknown)"
        return f"local Neo4j {version} at {self.home}"

    def neo4j_version(self) -> str:
        return self.installation.version()

    def data_owner(self) -> tuple[int, int]:
        return self.installation.data_owner()

    # -- the server's process and the operation lock (supervisor.py) ---------------------------------------------
    def pid(self) -> int | None:
        return self.supervisor.pid()

    def is_up(self) -> bool:
        return self.supervisor.is_up()

    def crash_evidence(self) -> str | None:
        return self.supervisor.crash_evidence()

    def hold_stopped(self) -> None:
        self.supervisor.hold_stopped()

    def release_stopped(self) -> None:
        self.supervisor.release_stopped()

    def stop(self) -> None:
        self.supervisor.stop()

    def start_process(self) -> None:
        self.supervisor.start(lambda: self.query("RETURN 1"))

    def log_tail(self, lines: int = 20) -> str:
        return self.supervisor.log_tail(lines)

    # -- switching the Neo4j version (the 4.4 to 5 store migration) ----------------------------------------------
    def _switch_command(self, version: str) -> list[str]:
        return [part.replace("{version}", version) for part in self.switch_command]

    def check_neo4j_version(self, version: str) -> list[str]:
        # Cheap on purpose (the upgrade page runs it): is there a way to switch at all.
        if not self.switch_command:
            return [
                f"the local target cannot switch its installation to Neo4j {version}: set "
                f"PORTAL_NEO4J_SWITCH_COMMAND to the command that does it (docs/local-target.md)"
            ]
        executable = self.switch_command[0]
        if shutil.which(executable) is None and not os.access(executable, os.X_OK):
            return [f"PORTAL_NEO4J_SWITCH_COMMAND: {executable} is not found or not executable"]
        return []

    def switch_description(self, version: str) -> str:
        if not self.switch_command:
            return f"PORTAL_NEO4J_SWITCH_COMMAND (not set) makes the installation at {self.home} Neo4j {version}"
        return f"{command_text(self._switch_command(version))}: the installation at {self.home} becomes {version}"

    def use_neo4j_version(self, version: str) -> str:
        if self.is_up():
            raise TargetError(f"Neo4j at {self.home} must be stopped before switching to {version}")
        problems = self.check_neo4j_version(version)
        if problems:
            raise TargetError("; ".join(problems))
        command = self._switch_command(version)
        proc = self.supervisor.run(command, f"switching to Neo4j {version}", "PORTAL_NEO4J_SWITCH_COMMAND")
        if proc.returncode != 0:
            raise TargetError(
                f"switching to Neo4j {version} failed: {command_text(command)} (PORTAL_NEO4J_SWITCH_COMMAND) exited "
                f"with {proc.returncode}: {proc.stdout[-1500:]}"
            )
        now = self.neo4j_version()
        if now != version:
            raise TargetError(
                f"after {command_text(command)} (PORTAL_NEO4J_SWITCH_COMMAND) the installation at {self.home} holds "
                f"Neo4j {now}, not {version}"
            )
        return f"{self.describe()} ({proc.stdout.strip()[-300:] or 'switched'})"

    def check_java(self, version: str) -> list[str]:
        return java.problems(version)

    def admin_command_for(self, version: str, args: list[str]) -> list[str]:
        return self.admin_command(args)  # the same neo4j-admin path, once the switch made it that version's

    # -- neo4j-admin (admin.py) ---------------------------------------------------------------------------------
    @property
    def admin_backup_dir(self) -> PurePosixPath:
        return PurePosixPath(self.backup_dir.resolve())

    def admin_command(self, args: list[str]) -> list[str]:
        return self.admin_tool.command(args)

    def admin(self, args: list[str]) -> AdminResult:
        return self.admin_tool.run(args, self.conf_dir)

    def stop_admin(self, conf_dir: Path | None = None) -> list[str]:
        return self.admin_tool.stop_orphans(conf_dir or self.conf_dir)

    def fix_ownership(self, paths: list[Path]) -> str:
        return self.admin_tool.fix_ownership(paths)

    # -- the scratch Neo4j a verification loads a dump into (own_servers.py, docs/verification.md) ----------------
    @property
    def _scratch_home(self) -> Path:
        return self.scratch_dir() / "home"

    def _scratch_conf_dir(self, create: bool = False) -> Path:
        home = self._scratch_home
        conf = home / "conf"
        if (conf / "neo4j.conf").exists() or not create:
            return conf
        return self.own_servers.write_conf(home)

    def scratch_admin_command(self, args: list[str]) -> list[str]:
        return [f"NEO4J_CONF={self._scratch_home / 'conf'}", *self.admin_command(args)]

    def scratch_admin(self, args: list[str]) -> AdminResult:
        conf = self._scratch_conf_dir(create=True)
        result = self.admin_tool.run(args, conf)
        return AdminResult(command=self.scratch_admin_command(args), returncode=result.returncode, output=result.output)

    def scratch_counts(self) -> tuple[int, int]:
        conf = self._scratch_conf_dir()
        if not (conf / "neo4j.conf").exists():
            raise TargetError(f"there is no scratch Neo4j in {self._scratch_home}")
        return self.own_servers.counts(self._scratch_home, "the scratch Neo4j", self.connection.database)

    def clear_scratch(self) -> list[str]:
        home = self._scratch_home
        done = self.stop_admin(home.resolve() / "conf") if home.exists() else []
        return done + self.own_servers.stop_console(home) + super().clear_scratch()

    # -- side stores: the snapshot a backup dumps and the staging a restore loads (own_servers.py, docs/outage.md) --
    # A side store's root is laid out like the scratch's (conf/, data/, logs/, run/): neo4j-admin runs with NEO4J_CONF
    # there, so its data directory is the side store's.
    def _side_conf(self, root: Path) -> Path:
        conf = root / "conf"
        if not (conf / "neo4j.conf").exists():
            self.own_servers.write_conf(root)
            self.fix_ownership([root / "data"])
        return conf

    def side_admin_command(self, root: Path, args: list[str]) -> list[str]:
        return [f"NEO4J_CONF={root.resolve() / 'conf'}", *self.admin_command(args)]

    def side_admin(self, root: Path, args: list[str]) -> AdminResult:
        result = self.admin_tool.run(args, self._side_conf(root.resolve()))
        return AdminResult(self.side_admin_command(root, args), result.returncode, result.output)

    def neo4j_log_tail(self) -> str:
        try:
            with open(self.installation.directory("logs") / "neo4j.log", "rb") as log:
                log.seek(max(log.seek(0, os.SEEK_END) - LOG_TAIL_BYTES, 0))
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def side_read(self, root: Path, statements: list[str]) -> list[list[list[Any]]]:
        root = root.resolve()
        self._side_conf(root)
        return self.own_servers.read(root, f"the side Neo4j in {root}", self.connection.database, statements)

    def stop_side(self, root: Path) -> list[str]:
        if not root.exists():
            return []
        return self.stop_admin(root.resolve() / "conf") + self.own_servers.stop_console(root.resolve())

    # -- alchemiscale's CLI as a local command (alchemiscale_cli.py) ----------------------------------------------
    @property
    def alchemiscale_cli(self) -> AlchemiscaleCli:
        return LocalAlchemiscaleCli(self)
