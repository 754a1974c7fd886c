"""neo4j-admin on the installation (``AdminTool``): run as the data directory's owner with a chosen configuration
directory (the live one, a scratch or a side store's), found again by a marker in its environment when its worker
died, and the data directory's ownership given back after the portal wrote into it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from ...processes import pid_alive
from ..base import AdminResult, TargetError, not_owned_by
from ..common import command_text
from .installation import Installation

#: set in the environment of every neo4j-admin the target runs (value: its configuration directory), so that an
#: orphaned one (its worker died) can be found and stopped whatever the installation's scripts exec into
ADMIN_MARKER = "PORTAL_NEO4J_ADMIN_OF"


class AdminTool:
    """``tool`` (``PORTAL_NEO4J_ADMIN``, default ``<home>/bin/neo4j-admin``) on ``installation``."""

    def __init__(self, installation: Installation, tool: list[str]):
        self.installation = installation
        self.tool = tool

    def command(self, args: list[str]) -> list[str]:
        return [*self.tool, *args]

    def run(self, args: list[str], conf_dir: Path) -> AdminResult:
        """``neo4j-admin ARGS`` with ``NEO4J_CONF=conf_dir``; never raises for a non-zero exit."""
        command = self.command(args)
        home = self.installation.home
        uid, gid = self.installation.data_owner()
        # Only root can switch users; as anyone else we run as ourselves (and must own the data already).
        switch = os.getuid() == 0 and (uid, gid) != (0, 0)
        env = {**os.environ, "NEO4J_HOME": str(home), "NEO4J_CONF": str(conf_dir), ADMIN_MARKER: str(conf_dir)}
        try:
            proc = subprocess.run(
                command,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                stdin=subprocess.DEVNULL,
                cwd=home,
                user=uid if switch else None,
                group=gid if switch else None,
            )
        except (FileNotFoundError, PermissionError) as exc:
            raise TargetError(
                f"neo4j-admin ({command_text(self.tool)}, PORTAL_NEO4J_ADMIN) cannot be run: {exc}"
            ) from None
        return AdminResult(command=command, returncode=proc.returncode, output=proc.stdout)

    def stop_orphans(self, conf_dir: Path) -> list[str]:
        """Stop every process started with ``conf_dir``'s marker (an orphaned neo4j-admin, or a server of the
        portal's own on that configuration); what was done."""
        done = []
        marker = f"{ADMIN_MARKER}={conf_dir}".encode()
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit() or int(proc.name) == os.getpid():
                continue
            try:
                if marker not in (proc / "environ").read_bytes().split(b"\0"):
                    continue
                argv = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            pid = int(proc.name)
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
            args = " ".join(a.decode(errors="replace") for a in argv if a)
            done.append(f"stopped an orphaned neo4j-admin (pid {pid}: {args[-200:]})")
        return done

    def fix_ownership(self, paths: list[Path]) -> str:
        uid, gid = self.installation.data_owner()
        try:
            wrong = not_owned_by(paths, uid, gid)
        except OSError as exc:
            raise TargetError(f"cannot give {exc.filename} to uid {uid} gid {gid}: {exc.strerror}") from None
        for name in wrong:
            os.lchown(name, uid, gid)
        return f"{len(wrong)} file(s) given to uid {uid} gid {gid}"
