"""The server's process (``Supervisor``): started, stopped and asked whether it runs through the configured commands
(``PORTAL_NEO4J_START_COMMAND`` / ``_STOP_COMMAND`` / ``_STATUS_COMMAND``, by default the distribution's ``bin/neo4j``
and its pid file), and the operation lock that keeps the project's own scripts from starting it meanwhile
(``operations/neo4j_lock.py``)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

from ... import neo4j_lock
from ...processes import pid_alive
from ..base import TargetError
from ..common import command_text
from .installation import Installation


class Supervisor:
    """The server of ``installation``; ``timeout`` bounds a start or a stop (a command gets 30 s more)."""

    def __init__(
        self,
        installation: Installation,
        *,
        start_command: list[str],
        stop_command: list[str],
        status_command: list[str],
        timeout: float,
    ):
        self.installation = installation
        self.start_command = start_command
        self.stop_command = stop_command
        self.status_command = status_command
        self.timeout = timeout

    def run(self, command: list[str], what: str, setting: str) -> subprocess.CompletedProcess:
        """Run one configured command (``setting`` names it in errors); output captured."""
        try:
            return subprocess.run(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                stdin=subprocess.DEVNULL,
                timeout=self.timeout + 30,
            )
        except (FileNotFoundError, PermissionError) as exc:
            raise TargetError(f"{what}: {command_text(command)} ({setting}) cannot be run: {exc}") from None
        except subprocess.TimeoutExpired:
            raise TargetError(
                f"{what}: {command_text(command)} ({setting}) did not finish within {self.timeout + 30:.0f} s"
            ) from None

    def pid(self) -> int | None:
        """The process its pid file names, when alive (None without a pid file: e.g. a service manager's)."""
        try:
            pid = int(self.installation.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError, OSError):
            return None
        return pid if pid_alive(pid) else None

    def is_up(self) -> bool:
        if self.status_command:
            return (
                self.run(self.status_command, "asking whether Neo4j runs", "PORTAL_NEO4J_STATUS_COMMAND").returncode
                == 0
            )
        return self.pid() is not None

    def crash_evidence(self) -> str | None:
        # Only a pid file tells: a deliberate stop removes it, a dead process leaves it. A service manager knows
        # better (e.g. `systemctl status neo4j`), but the portal does not ask it.
        if self.status_command:
            return None
        pid_file = self.installation.pid_file
        try:
            recorded = int(pid_file.read_text().strip())
        except (FileNotFoundError, ValueError, OSError):
            return None
        if pid_alive(recorded):
            return None
        return (
            f"its pid file {pid_file} names process {recorded}, which is gone: Neo4j died without "
            f"being stopped (crashed, or killed: e.g. out of memory); see {self.installation.directory('logs')}"
        )

    def hold_stopped(self) -> None:
        # The operation lock (operations/neo4j_lock.py): held from the stop until the start, or the run's end.
        try:
            neo4j_lock.hold(
                self.installation.operation_lock_file,
                "a portal operation (neo4j-admin offline job)",
                f"Neo4j at {self.installation.home}",
            )
        except (neo4j_lock.LockHeld, OSError) as exc:
            raise TargetError(str(exc)) from None

    def release_stopped(self) -> None:
        neo4j_lock.release(self.installation.operation_lock_file)

    def stop(self) -> None:
        self.hold_stopped()
        if not self.is_up():
            return
        proc = self.run(self.stop_command, "stopping Neo4j", "PORTAL_NEO4J_STOP_COMMAND")
        if proc.returncode != 0:
            raise TargetError(
                f"stopping Neo4j failed: {command_text(self.stop_command)} (PORTAL_NEO4J_STOP_COMMAND) exited with "
                f"{proc.returncode}: {proc.stdout[-1000:]}"
            )
        deadline = time.monotonic() + self.timeout
        while self.is_up():
            if time.monotonic() > deadline:
                raise TargetError(
                    f"Neo4j still runs {self.timeout:.0f} s after {command_text(self.stop_command)} "
                    f"(PORTAL_NEO4J_STOP_COMMAND)"
                )
            time.sleep(0.2)

    def start(self, answers: Callable[[], object]) -> None:
        """Run the start command (a no-op when running), then wait until ``answers()`` stops raising, the process is
        gone (a start that failed after the command returned), or the timeout."""
        if self.is_up():
            return
        # Given back first: the start command runs in another process, which must not find it held.
        self.release_stopped()
        proc = self.run(self.start_command, "starting Neo4j", "PORTAL_NEO4J_START_COMMAND")
        if proc.returncode != 0:
            raise TargetError(
                f"starting Neo4j failed: {command_text(self.start_command)} (PORTAL_NEO4J_START_COMMAND) exited "
                f"with {proc.returncode}: {proc.stdout[-1500:]}"
            )
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if not self.is_up():
                raise TargetError(
                    f"Neo4j exited during start-up after {command_text(self.start_command)}; see "
                    f"{self.installation.directory('logs')}:\n{self.log_tail()}"
                )
            try:
                answers()
                break
            except Exception:
                time.sleep(0.25)

    def log_tail(self, lines: int = 20) -> str:
        for name in ("console.log", "neo4j.log"):
            path = self.installation.directory("logs") / name
            if path.exists() and path.stat().st_size:
                return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        return ""
