"""The local target: any Neo4j installation on this machine, driven from configuration (docs/local-target.md).

What it needs to know, all from the settings: the installation's home (``PORTAL_NEO4J_HOME``: ``bin/neo4j-admin``,
``lib/``), the directory of its ``neo4j.conf`` (``PORTAL_NEO4J_CONF``, default ``<home>/conf``; the data, logs and run
directories are read from it, relative ones against the home, as Neo4j does), and how it is started, stopped and
asked whether it runs (``PORTAL_NEO4J_START_COMMAND`` / ``_STOP_COMMAND`` / ``_STATUS_COMMAND``: e.g. ``systemctl
start neo4j``; by default the distribution's ``bin/neo4j start|stop`` and its pid file). A switch between Neo4j
versions (the 4.4 to 5 store migration) runs ``PORTAL_NEO4J_SWITCH_COMMAND`` with the version; nothing here fetches
or installs Neo4j.

The project's own instance (``make run``, ``make test``) is one configuration of this: ``devtools/local_neo4j.py``
lays out its home as a distribution, and ``scripts/services.py`` writes the settings.

alchemiscale's CLI runs here as a local command (``LocalAlchemiscaleCli`` in ``alchemiscale_cli.py``,
``PORTAL_ALCHEMISCALE_CLI``), with the target's connection in its environment.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path, PurePosixPath

from django.conf import settings

from .. import neo4j_lock
from ..processes import pid_alive
from ..target_names import LOCAL_TARGET
from .alchemiscale_cli import AlchemiscaleCli, LocalAlchemiscaleCli
from .base import AdminResult, Connection, Target, TargetError, bolt_counts, initial_password_args, not_owned_by

#: set in the environment of every neo4j-admin the target runs (value: its configuration directory), so that an
#: orphaned one (its worker died) can be found and stopped whatever the installation's scripts exec into
ADMIN_MARKER = "PORTAL_NEO4J_ADMIN_OF"

# neo4j.conf keys of the directories (5.x, then 4.4's name) and Neo4j's defaults, relative to the home.
DIRECTORY_KEYS = {
    "data": ("server.directories.data", "dbms.directories.data"),
    "logs": ("server.directories.logs", "dbms.directories.logs"),
    "run": ("server.directories.run", "dbms.directories.run"),
}
KERNEL_JAR = re.compile(r"neo4j-kernel-(\d+\.\d+\.\d+)\.jar")


def free_loopback_port() -> int:
    """A port nobody listens on at 127.0.0.1 now (the kernel's choice)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_conf(path: Path) -> dict[str, str]:
    """``key=value`` lines of a neo4j.conf (comments and blank lines skipped; the last value of a key wins)."""
    values: dict[str, str] = {}
    for line in path.read_text(errors="replace").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values[key.strip()] = value.strip()
    return values


def _start_failure(logs: Path) -> str:
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


def _command_text(command: list[str]) -> str:
    return " ".join(shlex.quote(c) for c in command)


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
        self.home = Path(home)
        self.conf_dir = Path(conf_dir) if conf_dir else self.home / "conf"
        self.admin_tool = list(admin or [str(self.home / "bin" / "neo4j-admin")])
        self.start_command = list(start_command or [str(self.home / "bin" / "neo4j"), "start"])
        self.stop_command = list(stop_command or [str(self.home / "bin" / "neo4j"), "stop"])
        self.status_command = list(status_command or [])
        self.switch_command = list(switch_command or [])
        if not self.home.is_dir():
            raise TargetError(f"PORTAL_NEO4J_HOME: {self.home} is not a directory (the Neo4j installation's home)")
        if not self.conf_file.is_file():
            raise TargetError(
                f"{self.conf_file} does not exist: set PORTAL_NEO4J_CONF to the directory of the installation's "
                f"neo4j.conf (default: PORTAL_NEO4J_HOME/conf)"
            )

    @classmethod
    def from_settings(cls, **common) -> LocalTarget:
        from django.core.exceptions import ImproperlyConfigured

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

    # -- the installation, as its files say ---------------------------------------------------------------------
    @property
    def conf_file(self) -> Path:
        return self.conf_dir / "neo4j.conf"

    def directory(self, which: str, conf: Path | None = None) -> Path:
        """A directory neo4j.conf names (``data``, ``logs``, ``run``), relative ones against the home."""
        values = read_conf(conf or self.conf_file)
        for key in DIRECTORY_KEYS[which]:
            if values.get(key):
                path = Path(values[key])
                return path if path.is_absolute() else self.home / path
        return self.home / which

    @property
    def data_dir(self) -> Path:
        return self.directory("data")

    @property
    def pid_file(self) -> Path:
        return self.directory("run") / "neo4j.pid"

    @property
    def operation_lock_file(self) -> Path:
        return self.directory("run") / "portal-operation.lock"

    def describe(self) -> str:
        try:
            version = self.neo4j_version()
        except TargetError:
            version = "(version unknown)"
        return f"local Neo4j {version} at {self.home}"

    def neo4j_version(self) -> str:
        """From the installation's jars (``lib/neo4j-kernel-<version>.jar``): known without the server running."""
        lib = self.home / "lib"
        found = sorted({m.group(1) for p in lib.glob("neo4j-kernel-*.jar") if (m := KERNEL_JAR.fullmatch(p.name))})
        if len(found) != 1:
            raise TargetError(
                f"cannot tell the Neo4j version of the installation at {self.home} (PORTAL_NEO4J_HOME): expected one "
                f"lib/neo4j-kernel-<version>.jar, found {found or 'none'}"
            )
        return found[0]

    # -- process control: the configured commands ----------------------------------------------------------------
    def _run(self, command: list[str], what: str, setting: str) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                stdin=subprocess.DEVNULL,
                timeout=self.start_timeout + 30,
            )
        except (FileNotFoundError, PermissionError) as exc:
            raise TargetError(f"{what}: {_command_text(command)} ({setting}) cannot be run: {exc}") from None
        except subprocess.TimeoutExpired:
            raise TargetError(
                f"{what}: {_command_text(command)} ({setting}) did not finish within {self.start_timeout + 30:.0f} s"
            ) from None

    def pid(self) -> int | None:
        """The process its pid file names, when alive (None without a pid file: e.g. a service manager's)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError, OSError):
            return None
        return pid if pid_alive(pid) else None

    def is_up(self) -> bool:
        if self.status_command:
            return (
                self._run(self.status_command, "asking whether Neo4j runs", "PORTAL_NEO4J_STATUS_COMMAND").returncode
                == 0
            )
        return self.pid() is not None

    def crash_evidence(self) -> str | None:
        # Only a pid file tells: a deliberate stop removes it, a dead process leaves it. A service manager knows
        # better (e.g. `systemctl status neo4j`), but the portal does not ask it.
        if self.status_command:
            return None
        try:
            recorded = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError, OSError):
            return None
        if pid_alive(recorded):
            return None
        return (
            f"its pid file {self.pid_file} names process {recorded}, which is gone: Neo4j died without "
            f"being stopped (crashed, or killed: e.g. out of memory); see {self.directory('logs')}"
        )

    def hold_stopped(self) -> None:
        # The operation lock (operations/neo4j_lock.py): held from the stop until the start, or the run's end.
        try:
            neo4j_lock.hold(
                self.operation_lock_file, "a portal operation (neo4j-admin offline job)", f"Neo4j at {self.home}"
            )
        except (neo4j_lock.LockHeld, OSError) as exc:
            raise TargetError(str(exc)) from None

    def release_stopped(self) -> None:
        neo4j_lock.release(self.operation_lock_file)

    def stop(self) -> None:
        self.hold_stopped()
        if not self.is_up():
            return
        proc = self._run(self.stop_command, "stopping Neo4j", "PORTAL_NEO4J_STOP_COMMAND")
        if proc.returncode != 0:
            raise TargetError(
                f"stopping Neo4j failed: {_command_text(self.stop_command)} (PORTAL_NEO4J_STOP_COMMAND) exited with "
                f"{proc.returncode}: {proc.stdout[-1000:]}"
            )
        deadline = time.monotonic() + self.start_timeout
        while self.is_up():
            if time.monotonic() > deadline:
                raise TargetError(
                    f"Neo4j still runs {self.start_timeout:.0f} s after {_command_text(self.stop_command)} "
                    f"(PORTAL_NEO4J_STOP_COMMAND)"
                )
            time.sleep(0.2)

    def start_process(self) -> None:
        if self.is_up():
            return
        # Given back first: the start command runs in another process, which must not find it held.
        self.release_stopped()
        proc = self._run(self.start_command, "starting Neo4j", "PORTAL_NEO4J_START_COMMAND")
        if proc.returncode != 0:
            raise TargetError(
                f"starting Neo4j failed: {_command_text(self.start_command)} (PORTAL_NEO4J_START_COMMAND) exited "
                f"with {proc.returncode}: {proc.stdout[-1500:]}"
            )
        # Until Bolt answers, or the process is gone (a start that failed after the command returned).
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if not self.is_up():
                raise TargetError(
                    f"Neo4j exited during start-up after {_command_text(self.start_command)}; see "
                    f"{self.directory('logs')}:\n{self.log_tail()}"
                )
            try:
                self.query("RETURN 1")
                break
            except Exception:
                time.sleep(0.25)

    def log_tail(self, lines: int = 20) -> str:
        for name in ("console.log", "neo4j.log"):
            path = self.directory("logs") / name
            if path.exists() and path.stat().st_size:
                return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        return ""

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
        return f"{_command_text(self._switch_command(version))}: the installation at {self.home} becomes {version}"

    def use_neo4j_version(self, version: str) -> str:
        if self.is_up():
            raise TargetError(f"Neo4j at {self.home} must be stopped before switching to {version}")
        problems = self.check_neo4j_version(version)
        if problems:
            raise TargetError("; ".join(problems))
        command = self._switch_command(version)
        proc = self._run(command, f"switching to Neo4j {version}", "PORTAL_NEO4J_SWITCH_COMMAND")
        if proc.returncode != 0:
            raise TargetError(
                f"switching to Neo4j {version} failed: {_command_text(command)} (PORTAL_NEO4J_SWITCH_COMMAND) exited "
                f"with {proc.returncode}: {proc.stdout[-1500:]}"
            )
        now = self.neo4j_version()
        if now != version:
            raise TargetError(
                f"after {_command_text(command)} (PORTAL_NEO4J_SWITCH_COMMAND) the installation at {self.home} holds "
                f"Neo4j {now}, not {version}"
            )
        return f"{self.describe()} ({proc.stdout.strip()[-300:] or 'switched'})"

    def admin_command_for(self, version: str, args: list[str]) -> list[str]:
        return self.admin_command(args)  # the same neo4j-admin path, once the switch made it that version's

    # -- neo4j-admin ------------------------------------------------------------------------------------------
    @property
    def admin_backup_dir(self) -> PurePosixPath:
        return PurePosixPath(self.backup_dir.resolve())

    def data_owner(self) -> tuple[int, int]:
        """(uid, gid) owning the data directory; the directory holding it while it is set aside."""
        for path in (self.data_dir, self.data_dir.parent):
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            return st.st_uid, st.st_gid
        raise TargetError(f"neither {self.data_dir} nor its parent exists")

    def admin_command(self, args: list[str]) -> list[str]:
        return [*self.admin_tool, *args]

    def _admin(self, args: list[str], conf_dir: Path) -> AdminResult:
        command = self.admin_command(args)
        uid, gid = self.data_owner()
        # Only root can switch users; as anyone else we run as ourselves (and must own the data already).
        switch = os.getuid() == 0 and (uid, gid) != (0, 0)
        env = {**os.environ, "NEO4J_HOME": str(self.home), "NEO4J_CONF": str(conf_dir), ADMIN_MARKER: str(conf_dir)}
        try:
            proc = subprocess.run(
                command,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                stdin=subprocess.DEVNULL,
                cwd=self.home,
                user=uid if switch else None,
                group=gid if switch else None,
            )
        except (FileNotFoundError, PermissionError) as exc:
            raise TargetError(
                f"neo4j-admin ({_command_text(self.admin_tool)}, PORTAL_NEO4J_ADMIN) cannot be run: {exc}"
            ) from None
        return AdminResult(command=command, returncode=proc.returncode, output=proc.stdout)

    def admin(self, args: list[str]) -> AdminResult:
        return self._admin(args, self.conf_dir)

    def stop_admin(self, conf_dir: Path | None = None) -> list[str]:
        done = []
        marker = f"{ADMIN_MARKER}={conf_dir or self.conf_dir}".encode()
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
        uid, gid = self.data_owner()
        try:
            wrong = not_owned_by(paths, uid, gid)
        except OSError as exc:
            raise TargetError(f"cannot give {exc.filename} to uid {uid} gid {gid}: {exc.strerror}") from None
        for name in wrong:
            os.lchown(name, uid, gid)
        return f"{len(wrong)} file(s) given to uid {uid} gid {gid}"

    # -- the scratch Neo4j a verification loads a dump into (docs/verification.md) -----------------------------
    # The same installation with a configuration of its own under the scratch directory: its own data, logs and run
    # directories, loopback ports the kernel picks. Nothing of the live server (data, ports, operation lock) is used.
    @property
    def _scratch_home(self) -> Path:
        return self.scratch_dir() / "home"

    def _scratch_conf_dir(self, create: bool = False) -> Path:
        home = self._scratch_home
        conf = home / "conf"
        if (conf / "neo4j.conf").exists() or not create:
            return conf
        return self._write_own_conf(home)

    def _write_own_conf(self, home: Path) -> Path:
        """neo4j.conf of a Neo4j of the portal's own on ``home`` (the scratch, a side store): its data, logs and run
        directories under it, loopback ports the kernel picks (fresh at each call), a small memory budget."""
        for d in ("conf", "data", "logs", "run"):
            (home / d).mkdir(parents=True, exist_ok=True)
        prefix, connector = (
            ("dbms", "dbms.connector") if self.neo4j_version().startswith("4.") else ("server", "server")
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

    def scratch_admin_command(self, args: list[str]) -> list[str]:
        return [f"NEO4J_CONF={self._scratch_home / 'conf'}", *self.admin_command(args)]

    def scratch_admin(self, args: list[str]) -> AdminResult:
        conf = self._scratch_conf_dir(create=True)
        result = self._admin(args, conf)
        return AdminResult(command=self.scratch_admin_command(args), returncode=result.returncode, output=result.output)

    def _scratch_bolt_port(self, conf: Path) -> int:
        values = read_conf(conf / "neo4j.conf")
        address = values.get("server.bolt.listen_address") or values.get("dbms.connector.bolt.listen_address", "")
        return int(address.rsplit(":", 1)[-1])

    def scratch_counts(self) -> tuple[int, int]:
        conf = self._scratch_conf_dir()
        if not (conf / "neo4j.conf").exists():
            raise TargetError(f"there is no scratch Neo4j in {self._scratch_home}")
        return self._counts_on(self._scratch_home, "the scratch Neo4j")

    def _counts_on(self, home: Path, what: str) -> tuple[int, int]:
        """(nodes, relationships) of the store of the portal's own Neo4j on ``home``, from ``bin/neo4j console`` with
        that configuration, which only this process reaches and which is stopped again before returning."""
        conf = home / "conf"
        # A throwaway password, set before the first start: the store may hold the live store's credentials.
        (home / "data" / "dbms" / "auth.ini").unlink(missing_ok=True)
        password = secrets.token_urlsafe(18)
        result = self._admin(initial_password_args(password), conf)
        if not result.ok:
            raise TargetError(f"{what}: setting its password failed: {result.output[-500:]}")
        self._write_own_conf(home)  # fresh ports: the ones picked at set-up may be taken by now
        url = f"bolt://127.0.0.1:{self._scratch_bolt_port(conf)}"
        logs = home / "logs"
        with open(logs / "console.log", "ab") as console:
            server = subprocess.Popen(
                [str(self.home / "bin" / "neo4j"), "console"],
                env={**os.environ, "NEO4J_HOME": str(self.home), "NEO4J_CONF": str(conf), ADMIN_MARKER: str(conf)},
                stdout=console,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=self.home,
            )
        (home / "run" / "console.pid").write_text(f"{server.pid}\n")
        try:
            deadline = time.monotonic() + self.start_timeout
            while True:
                try:
                    return bolt_counts(Connection(url, "neo4j", password, self.connection.database))
                except Exception as exc:  # the database may still be coming online after the start
                    if server.poll() is not None:
                        tail = _start_failure(logs)
                        raise TargetError(
                            f"{what} exited during start-up (exit code {server.returncode}); see {logs}:\n{tail}"
                        ) from None
                    if time.monotonic() > deadline:
                        raise TargetError(f"{what} at {url} did not answer: {exc}") from None
                    time.sleep(0.25)
        finally:
            self._stop_group(server.pid)
            server.wait()

    def _stop_console(self, home: Path) -> list[str]:
        """Stop the console server :meth:`_counts_on` started on ``home`` if it still runs (its worker died)."""
        try:
            pid = int((home / "run" / "console.pid").read_text().strip())
        except (FileNotFoundError, ValueError):
            return []
        if not pid_alive(pid):
            return []
        self._stop_group(pid)
        return [f"stopped the Neo4j server in {home}"]

    def _stop_group(self, pid: int) -> None:
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + self.start_timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def clear_scratch(self) -> list[str]:
        home = self._scratch_home
        done = self.stop_admin(home.resolve() / "conf") if home.exists() else []
        return done + self._stop_console(home) + super().clear_scratch()

    # -- side stores: the snapshot a backup dumps and the staging a restore loads (docs/outage.md) -------------
    # A side store's root is laid out like the scratch's (conf/, data/, logs/, run/): neo4j-admin runs with NEO4J_CONF
    # there, so its data directory is the side store's; a counting server gets loopback ports the kernel picks. The
    # live installation's configuration, data, ports and operation lock are never used.
    def _side_conf(self, root: Path) -> Path:
        conf = root / "conf"
        if not (conf / "neo4j.conf").exists():
            self._write_own_conf(root)
            self.fix_ownership([root / "data"])
        return conf

    def side_admin_command(self, root: Path, args: list[str]) -> list[str]:
        return [f"NEO4J_CONF={root.resolve() / 'conf'}", *self.admin_command(args)]

    def side_admin(self, root: Path, args: list[str]) -> AdminResult:
        result = self._admin(args, self._side_conf(root.resolve()))
        return AdminResult(self.side_admin_command(root, args), result.returncode, result.output)

    def side_counts(self, root: Path) -> tuple[int, int]:
        root = root.resolve()
        self._side_conf(root)
        return self._counts_on(root, f"the side Neo4j in {root}")

    def stop_side(self, root: Path) -> list[str]:
        if not root.exists():
            return []
        return self.stop_admin(root.resolve() / "conf") + self._stop_console(root.resolve())

    # -- alchemiscale's CLI as a local command (alchemiscale_cli.py) ----------------------------------------------
    @property
    def alchemiscale_cli(self) -> AlchemiscaleCli:
        return LocalAlchemiscaleCli(self)
