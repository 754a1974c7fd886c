"""The local target: the Neo4j installation the project's own scripts run (``operations/local_neo4j.py``)."""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path, PurePosixPath

from ..local_neo4j import ADMIN_MAIN, Neo4jError, Neo4jInstance, _pid_alive, distribution_lib, fetch, port_in_use
from .alchemiscale_cli import AlchemiscaleCli, LocalAlchemiscaleCli
from .base import AdminResult, Connection, Target, TargetError, bolt_counts


def free_loopback_port() -> int:
    """A port nobody listens on at 127.0.0.1 now (the kernel's choice)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalTarget(Target):
    name = "local"

    def __init__(self, home: Path, connection: Connection, backup_dir: Path, start_timeout: float = 180.0):
        super().__init__(connection, backup_dir, start_timeout)
        try:
            self.instance = Neo4jInstance.load(home)
        except Neo4jError as exc:
            raise TargetError(f"PORTAL_NEO4J_HOME: {exc}") from None

    def describe(self) -> str:
        return f"local Neo4j {self.instance.version} at {self.instance.home}"

    def is_up(self) -> bool:
        return self.instance.pid() is not None

    def crash_evidence(self) -> str | None:
        # A deliberate stop (ours, or scripts/services.py down) removes the pid file; a dead process leaves it.
        try:
            recorded = int(self.instance.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if _pid_alive(recorded):
            return None
        return (
            f"its pid file {self.instance.pid_file} names process {recorded}, which is gone: Neo4j died without "
            f"being stopped (crashed, or killed: e.g. out of memory); see {self.instance.logs_dir}"
        )

    def hold_stopped(self) -> None:
        # The operation lock (operations/local_neo4j.py): held from the stop until the start, or the run's end.
        try:
            self.instance.hold_stopped("a portal operation (neo4j-admin offline job)")
        except Neo4jError as exc:
            raise TargetError(str(exc)) from None

    def release_stopped(self) -> None:
        self.instance.release_stopped()

    def stop(self) -> None:
        self.hold_stopped()
        self.instance.stop(timeout=self.start_timeout)

    def start_process(self) -> None:
        try:
            self.instance.start(timeout=self.start_timeout)
        except Neo4jError as exc:
            raise TargetError(str(exc)) from None

    def neo4j_version(self) -> str:
        return self.instance.version

    def check_neo4j_version(self, version: str) -> list[str]:
        # Cheap on purpose (the upgrade page runs it): cached jars, or Maven to fetch them at the switch.
        if (distribution_lib(version).parent / "complete").exists() or shutil.which("mvn"):
            return []
        return [
            f"Neo4j {version} is not in the cache ({distribution_lib(version)}) and Maven (mvn) is not "
            f"installed to fetch it: run python3 -m operations.local_neo4j fetch --version {version}"
        ]

    def switch_description(self, version: str) -> str:
        return f"the installation at {self.instance.home} gets Neo4j {version}'s server and configuration"

    def use_neo4j_version(self, version: str) -> str:
        if self.is_up():
            raise TargetError(f"Neo4j at {self.instance.home} must be stopped before switching to {version}")
        try:
            fetch(version)
        except Neo4jError as exc:
            raise TargetError(str(exc)) from None
        self.instance.version = version
        self.instance.write_config()
        return self.describe()

    def admin_command_for(self, version: str, args: list[str]) -> list[str]:
        return dataclasses.replace(self.instance, version=version).admin_command(args)

    @property
    def data_dir(self) -> Path:
        return self.instance.data_dir

    @property
    def admin_backup_dir(self) -> PurePosixPath:
        return PurePosixPath(self.backup_dir.resolve())

    def data_owner(self) -> tuple[int, int]:
        """(uid, gid) owning the data directory; the instance home while the data directory is set aside."""
        for path in (self.data_dir, self.instance.home):
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            return st.st_uid, st.st_gid
        raise TargetError(f"neither {self.data_dir} nor {self.instance.home} exists")

    def admin_command(self, args: list[str]) -> list[str]:
        return self.instance.admin_command(args)

    def admin(self, args: list[str]) -> AdminResult:
        command = self.admin_command(args)
        uid, gid = self.data_owner()
        # Only root can switch users; as anyone else we run as ourselves (and must own the data already).
        switch = os.getuid() == 0 and (uid, gid) != (0, 0)
        proc = subprocess.run(
            command,
            env=self.instance.admin_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            stdin=subprocess.DEVNULL,
            cwd=self.instance.home,
            user=uid if switch else None,
            group=gid if switch else None,
        )
        return AdminResult(command=command, returncode=proc.returncode, output=proc.stdout)

    def stop_admin(self, home: Path | None = None) -> list[str]:
        done = []
        marker = f"NEO4J_HOME={home or self.instance.home}".encode()
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                argv = (proc / "cmdline").read_bytes().split(b"\0")
                if ADMIN_MAIN.encode() not in argv or marker not in (proc / "environ").read_bytes().split(b"\0"):
                    continue
            except OSError:
                continue
            pid = int(proc.name)
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
            args = " ".join(a.decode(errors="replace") for a in argv[argv.index(ADMIN_MAIN.encode()) + 1 :] if a)
            done.append(f"stopped an orphaned neo4j-admin {args} (pid {pid})")
        return done

    def fix_ownership(self, paths: list[Path]) -> str:
        uid, gid = self.data_owner()
        changed = 0
        for top in paths:
            if not top.exists():
                continue
            for root, dirs, files in os.walk(top):
                for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
                    st = os.lstat(name)
                    if (st.st_uid, st.st_gid) != (uid, gid):
                        os.lchown(name, uid, gid)
                        changed += 1
        return f"{changed} file(s) given to uid {uid} gid {gid}"

    # -- the scratch Neo4j a verification loads a dump into (docs/verification.md) -----------------------------
    # Its own home under the scratch directory: its own conf, data, logs and pid file, ports the kernel picks on
    # loopback. Nothing of the live instance (home, data, ports, operation lock) is used or touched.
    def _scratch_instance(self, create: bool = False) -> Neo4jInstance:
        home = self.scratch_dir() / "home"
        if (home / "instance.json").exists():
            return Neo4jInstance.load(home)
        if not create:
            raise TargetError(f"there is no scratch Neo4j in {home}")
        inst = Neo4jInstance(
            home=home,
            bolt_port=free_loopback_port(),
            http_port=free_loopback_port(),
            heap="256m",
            pagecache="64m",
            version=self.instance.version,
        )
        for d in (inst.conf_dir, inst.data_dir, inst.logs_dir, inst.pid_file.parent):
            d.mkdir(parents=True, exist_ok=True)
        inst.write_config()
        return inst

    def scratch_admin_command(self, args: list[str]) -> list[str]:
        home = self.scratch_dir() / "home"
        return [f"NEO4J_HOME={home}", f"NEO4J_CONF={home / 'conf'}", *self.instance.admin_command(args)]

    def scratch_admin(self, args: list[str]) -> AdminResult:
        try:
            inst = self._scratch_instance(create=True)
            proc = inst.admin(args)
        except Neo4jError as exc:
            raise TargetError(str(exc)) from None
        return AdminResult(
            command=self.scratch_admin_command(args), returncode=proc.returncode, output=proc.stdout + proc.stderr
        )

    def scratch_counts(self) -> tuple[int, int]:
        inst = self._scratch_instance()
        # A throwaway password, set before the first start: the scratch store holds the live store's credentials.
        password = secrets.token_urlsafe(18)
        try:
            inst.admin(["dbms", "set-initial-password", password], check=True)
            if any(port_in_use(p) for p in (inst.bolt_port, inst.http_port)):
                inst.bolt_port, inst.http_port = free_loopback_port(), free_loopback_port()
                inst.write_config()
            inst.start(timeout=self.start_timeout)
            url = f"bolt://127.0.0.1:{inst.bolt_port}"
            deadline = time.monotonic() + self.start_timeout
            while True:
                try:
                    return bolt_counts(Connection(url, "neo4j", password, self.connection.database))
                except Exception as exc:  # the database may still be coming online after the start
                    if time.monotonic() > deadline:
                        raise TargetError(f"the scratch Neo4j at {url} did not answer: {exc}") from None
                    time.sleep(0.25)
        except Neo4jError as exc:
            raise TargetError(f"the scratch Neo4j: {exc}") from None
        finally:
            inst.stop(timeout=self.start_timeout)

    def clear_scratch(self) -> list[str]:
        home = self.scratch_dir() / "home"
        done = self.stop_admin(home.resolve()) if home.exists() else []
        if (home / "instance.json").exists():
            inst = Neo4jInstance.load(home)
            if inst.pid() is not None:
                inst.stop(timeout=self.start_timeout)
                done.append(f"stopped the scratch Neo4j in {home}")
        return done + super().clear_scratch()

    # -- side stores: the snapshot a backup dumps and the staging a restore loads (docs/outage.md) -------------
    # The side store's root is a Neo4j home of its own (conf/, data/, logs/, run/, instance.json): neo4j-admin runs
    # with NEO4J_CONF there, so its data directory is the side store's; a counting server gets loopback ports the
    # kernel picks. The live instance's home, data, ports and operation lock are never used.
    def _side_instance(self, root: Path) -> Neo4jInstance:
        if (root / "instance.json").exists():
            return Neo4jInstance.load(root)
        inst = Neo4jInstance(
            home=root.resolve(),
            bolt_port=free_loopback_port(),
            http_port=free_loopback_port(),
            heap="256m",
            pagecache="64m",
            version=self.instance.version,
        )
        for d in (inst.conf_dir, inst.data_dir, inst.logs_dir, inst.pid_file.parent):
            d.mkdir(parents=True, exist_ok=True)
        inst.write_config()
        self.fix_ownership([inst.data_dir])
        return inst

    def side_admin_command(self, root: Path, args: list[str]) -> list[str]:
        root = root.resolve()
        return [f"NEO4J_HOME={root}", f"NEO4J_CONF={root / 'conf'}", *self.instance.admin_command(args)]

    def side_admin(self, root: Path, args: list[str]) -> AdminResult:
        try:
            proc = self._side_instance(root).admin(args)
        except Neo4jError as exc:
            raise TargetError(str(exc)) from None
        return AdminResult(
            command=self.side_admin_command(root, args), returncode=proc.returncode, output=proc.stdout + proc.stderr
        )

    def side_counts(self, root: Path) -> tuple[int, int]:
        inst = self._side_instance(root)
        # A throwaway password for the side server's own (throwaway) system database: only this process knows it.
        password = secrets.token_urlsafe(18)
        try:
            (inst.data_dir / "dbms" / "auth.ini").unlink(missing_ok=True)
            inst.admin(["dbms", "set-initial-password", password], check=True)
            if any(port_in_use(p) for p in (inst.bolt_port, inst.http_port)):
                inst.bolt_port, inst.http_port = free_loopback_port(), free_loopback_port()
                inst.write_config()
            inst.start(timeout=self.start_timeout)
            url = f"bolt://127.0.0.1:{inst.bolt_port}"
            deadline = time.monotonic() + self.start_timeout
            while True:
                try:
                    return bolt_counts(Connection(url, "neo4j", password, self.connection.database))
                except Exception as exc:  # the database may still be coming online after the start
                    if time.monotonic() > deadline:
                        raise TargetError(f"the side Neo4j at {url} did not answer: {exc}") from None
                    time.sleep(0.25)
        except Neo4jError as exc:
            raise TargetError(f"the side Neo4j in {root}: {exc}") from None
        finally:
            inst.stop(timeout=self.start_timeout)

    def stop_side(self, root: Path) -> list[str]:
        if not root.exists():
            return []
        done = self.stop_admin(root.resolve())
        if (root / "instance.json").exists():
            inst = Neo4jInstance.load(root)
            if inst.pid() is not None:
                inst.stop(timeout=self.start_timeout)
                done.append(f"stopped the side Neo4j in {root}")
        return done

    # -- alchemiscale's CLI as a local command (alchemiscale_cli.py) ----------------------------------------------
    @property
    def alchemiscale_cli(self) -> AlchemiscaleCli:
        return LocalAlchemiscaleCli(self)
