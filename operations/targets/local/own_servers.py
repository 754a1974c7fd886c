"""Neo4j servers of the portal's own on the installation (``OwnServers``): the scratch Neo4j a verification loads a
dump into (docs/verification.md) and the side stores a backup dumps or a restore stages (docs/outage.md).

Each has a home of its own (``conf/``, ``data/``, ``logs/``, ``run/``) and runs the installation's own ``bin/neo4j``
and neo4j-admin with ``NEO4J_CONF`` there, on loopback ports the kernel picks. Nothing of the live server (its
configuration, data, ports, operation lock) is used.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from ...processes import pid_alive
from ..base import COUNT_STATEMENTS, Connection, TargetError, bolt_read, counted, initial_password_args
from .admin import ADMIN_MARKER, AdminTool
from .installation import Installation, read_conf


def free_loopback_port() -> int:
    """A port nobody listens on at 127.0.0.1 now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_failure(logs: Path) -> str:
    """What a server that exited during start-up said: the first error and its causes in neo4j.log (a Java stack
    trace's tail says little), else the end of console.log."""
    text = ""
    for name in ("neo4j.log", "console.log"):
        if (logs / name).exists():
            text = (logs / name).read_text(errors="replace")
            if text.strip():
                break
    lines = text.splitlines()
    errors = [i for i, line in enumerate(lines) if " ERROR " in line]
    if not errors:
        return "\n".join(lines[-20:])
    picked = [lines[errors[0]], *(line.strip() for line in lines[errors[0] :] if line.startswith("Caused by"))]
    return "\n".join(picked)[-3000:]


class OwnServers:
    """Servers of ``installation`` on homes of the portal's own; ``timeout`` bounds a start or a stop."""

    def __init__(self, installation: Installation, admin: AdminTool, timeout: float):
        self.installation = installation
        self.admin = admin
        self.timeout = timeout

    def write_conf(self, home: Path) -> Path:
        """neo4j.conf of a Neo4j of the portal's own on ``home`` (the scratch, a side store): its data, logs and run
        directories under it, loopback ports the kernel picks (fresh at each call), a small memory budget."""
        for d in ("conf", "data", "logs", "run"):
            (home / d).mkdir(parents=True, exist_ok=True)
        prefix, connector = (
            ("dbms", "dbms.connector") if self.installation.version().startswith("4.") else ("server", "server")
        )
        lines = [
            f"{prefix}.default_listen_address=127.0.0.1",
            f"{connector}.bolt.listen_address=127.0.0.1:{free_loopback_port()}",
            # Counted over Bolt: no web server to start (about 0.6 s of a start) and no HTTP port to pick.
            f"{connector}.http.enabled=false",
            f"{connector}.https.enabled=false",
            f"{prefix}.directories.data={home / 'data'}",
            f"{prefix}.directories.logs={home / 'logs'}",
            f"{prefix}.directories.run={home / 'run'}",
            f"{prefix}.memory.heap.initial_size=256m",
            f"{prefix}.memory.heap.max_size=256m",
            f"{prefix}.memory.pagecache.size=64m",
            # No 256 MiB transaction log files reserved in advance: a side store sits on the live data directory's
            # file system, and this server writes little.
            f"{'dbms' if prefix == 'dbms' else 'db'}.tx_log.preallocate=false",
            "dbms.security.auth_enabled=true",
            # Stopped in about a second instead of after Bolt's idle wait (docs/outage.md "What the outage is made of")
            ("unsupported" if prefix == "dbms" else "internal") + ".dbms.bolt.netty_server_shutdown_quiet_period=0",
            "",
        ]
        (home / "conf" / "neo4j.conf").write_text("\n".join(lines))
        return home / "conf"

    @staticmethod
    def bolt_port(conf: Path) -> int:
        values = read_conf(conf / "neo4j.conf")
        address = values.get("server.bolt.listen_address") or values.get("dbms.connector.bolt.listen_address", "")
        return int(address.rsplit(":", 1)[-1])

    def counts(self, home: Path, what: str, database: str) -> tuple[int, int]:
        """(nodes, relationships) of ``database`` in the store of the portal's own Neo4j on ``home``."""
        return counted(self.read(home, what, database, list(COUNT_STATEMENTS)))

    def read(self, home: Path, what: str, database: str, statements: list[str]) -> list[list[list[Any]]]:
        """The rows of each statement on ``database`` in the store of the portal's own Neo4j on ``home``, from
        ``bin/neo4j console`` with that configuration, which only this process reaches and which is stopped again
        before returning."""
        conf = home / "conf"
        # A throwaway password, set before the first start: the store may hold the live store's credentials.
        (home / "data" / "dbms" / "auth.ini").unlink(missing_ok=True)
        password = secrets.token_urlsafe(18)
        result = self.admin.run(initial_password_args(password), conf)
        if not result.ok:
            raise TargetError(f"{what}: setting its password failed: {result.output[-500:]}")
        self.write_conf(home)  # fresh ports: the ones picked at set-up may be taken by now
        url = f"bolt://127.0.0.1:{self.bolt_port(conf)}"
        logs = home / "logs"
        neo4j_home = self.installation.home
        with open(logs / "console.log", "ab") as console:
            server = subprocess.Popen(
                [str(neo4j_home / "bin" / "neo4j"), "console"],
                env={**os.environ, "NEO4J_HOME": str(neo4j_home), "NEO4J_CONF": str(conf), ADMIN_MARKER: str(conf)},
                stdout=console,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=neo4j_home,
            )
        (home / "run" / "console.pid").write_text(f"{server.pid}\n")
        try:
            deadline = time.monotonic() + self.timeout
            while True:
                try:
                    return bolt_read(Connection(url, "neo4j", password, database), statements)
                except Exception as exc:  # the database may still be coming online after the start
                    if server.poll() is not None:
                        tail = start_failure(logs)
                        raise TargetError(
                            f"{what} exited during start-up (exit code {server.returncode}); see {logs}:\n{tail}"
                        ) from None
                    if time.monotonic() > deadline:
                        raise TargetError(f"{what} at {url} did not answer: {exc}") from None
                    time.sleep(0.25)
        finally:
            self.stop_group(server.pid)
            server.wait()

    def stop_console(self, home: Path) -> list[str]:
        """Stop the console server :meth:`counts` started on ``home`` if it still runs (its worker died)."""
        try:
            pid = int((home / "run" / "console.pid").read_text().strip())
        except (FileNotFoundError, ValueError):
            return []
        if not pid_alive(pid):
            return []
        self.stop_group(pid)
        return [f"stopped the Neo4j server in {home}"]

    def stop_group(self, pid: int) -> None:
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + self.timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
