"""DEV TOOL: a Neo4j Community installation run by the project itself, from Maven Central jars.

Used by ``make run``, ``make test``, the benches and the tests only; the portal itself never imports it (a test
checks that). Standard library only: ``scripts/services.py`` uses it before the virtualenv exists.

An instance home looks like a Neo4j distribution to the portal's local target (docs/local-target.md), so the
project's own instance is just one configuration of it::

    HOME/instance.json    ports, heap, Neo4j version (written by ``init``)
    HOME/bin/neo4j        ``neo4j start|stop|status|console``, as a distribution's script
    HOME/bin/neo4j-admin  runs the version's neo4j-admin (NEO4J_HOME and NEO4J_CONF from the environment)
    HOME/lib -> the version's jars in the cache
    HOME/conf/neo4j.conf
    HOME/data/            the store (``databases/``, ``transactions/``, ``dbms/``)
    HOME/logs/  HOME/run/neo4j.pid
    HOME/run/portal-operation.lock   held (flock) by a portal operation while it keeps the server stopped

``start`` and ``scripts/services.py up`` refuse while another process holds the operation lock
(``operations/neo4j_lock.py``); any start of the instance from the holding process gives it back.

    python3 -m devtools.local_neo4j fetch [--version V]       the jars (and Java 11 for 4.4) into the cache
    python3 -m devtools.local_neo4j start|stop|status --home HOME
    python3 -m devtools.local_neo4j switch --home HOME --version V   the instance becomes V (cached jars only)
    python3 -m devtools.local_neo4j class-archives [--version V]  class-data sharing archives for fast starts

With ``PORTAL_DEV_FAST_JVM=1`` in the environment (``scripts/test.sh`` sets it) every JVM this module starts (server,
console, neo4j-admin) of a 5.x version maps the version's class-data sharing archives, when ``class-archives`` has
made them, and uses the client compiler only: a start takes about 3 s instead of 5.5, a neo4j-admin call 0.5 s less
(docs/testing.md "Fast JVM starts"). Without it (``make run``, the benches) Neo4j starts with the distribution's flags.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import hashlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from devtools import java11  # noqa: E402
from devtools.neo4j_cache import Neo4jError, cache_dir  # noqa: E402
from operations import neo4j_lock  # noqa: E402  (standard library only, like this module)

# The scripts under scripts/ import it by this module's older private name.
from operations.processes import pid_alive  # noqa: E402

NEO4J_VERSION = "5.26.12"
# The 5.x release alchemiscale's guide migrates 4.4 to (its compose file's neo4j:5.18); the newest 5.18 release.
NEO4J_518_VERSION = "5.18.1"
# The last 4.4 release: stores alchemiscale v0.3 deployments still hold, to be migrated to 5.x.
NEO4J_44_VERSION = "4.4.44"
# The same two classes in 4.4 and 5.x (checked in both jar sets).
SERVER_MAIN = "org.neo4j.server.CommunityEntryPoint"
# How long Bolt's network threads wait for quiet before a stop goes on (5 s per thread group by default: most of a
# stop's time). 0 makes the stop take about a second; docs/outage.md "What the outage is made of".
BOLT_QUIET_PERIOD_5 = "internal.dbms.bolt.netty_server_shutdown_quiet_period"
BOLT_QUIET_PERIOD_44 = "unsupported.dbms.bolt.netty_server_shutdown_quiet_period"
ADMIN_MAIN = "org.neo4j.cli.AdminTool"


def is_calendar(version: str) -> bool:
    """Neo4j 2025.x and later (calendar versions) need Java 21 or newer and start from another entry point."""
    return int(version.split(".")[0]) >= 2025


def server_main(version: str) -> str:
    """The server's main class: 2025.x renamed it (the jar's META-INF/services/org.neo4j.server.startup.EntryPoint)."""
    return "org.neo4j.server.Neo4jCommunity" if is_calendar(version) else SERVER_MAIN


def is_44(version: str) -> bool:
    """Neo4j 4.4 differs from 5.x in its Java (11), its config keys (``dbms.*``) and neo4j-admin's syntax."""
    return version.startswith("4.")


# The distribution's bootloader adds these for Java 17; we start the entry point directly.
JVM_FLAGS = [
    "-XX:+UseG1GC",
    "-XX:+ExitOnOutOfMemoryError",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
]

# Fast starts for the test suite (see the module's docstring); each JVM of the suite is short-lived and small.
FAST_JVM_ENV = "PORTAL_DEV_FAST_JVM"
FAST_JVM_FLAGS = ["-XX:TieredStopAtLevel=1"]
# What the JVM loads: "server" (server and console), "admin" (neo4j-admin).
ARCHIVE_KINDS = ("server", "admin")
# What the server whose classes are archived is asked (Cypher's planner and runtime are then among them).
CLASS_ARCHIVE_QUERY = "CREATE (:ClassArchive {made: 1}) WITH 1 AS one MATCH (n) RETURN count(n)"

POM_TEMPLATE = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>alchemiscale-portal</groupId>
  <artifactId>neo4j-community-fetch</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
{dependencies}
  </dependencies>
</project>
"""


def distribution_lib(version: str = NEO4J_VERSION) -> Path:
    return cache_dir() / f"neo4j-community-{version}" / "lib"


def java_for(version: str) -> str:
    """The Java that runs ``version``: 11 for 4.4 (fetched by devtools/java11.py), the installed 17 for 5.x."""
    if is_44(version):
        return str(java11.ensure())
    if is_calendar(version):
        # As Neo4j's own scripts do, and as the portal's Java precheck (operations/targets/local/java.py) reads it.
        home = os.environ.get("JAVA_HOME")
        if not home:
            raise Neo4jError(
                f"Neo4j {version} needs Java 21 or newer: set JAVA_HOME to one (e.g. /usr/lib/jvm/temurin-25-jdk-amd64)"
            )
        return str(Path(home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise Neo4jError("java is not installed (Neo4j 5.26 needs Java 17: apt-get install openjdk-17-jre-headless)")
    return java


def fast_jvm(version: str) -> bool:
    """Whether JVMs of ``version`` get the fast starts (module docstring): asked for, and 5.x (4.4's Java 11 cannot
    write the archives)."""
    return os.environ.get(FAST_JVM_ENV) == "1" and not is_44(version)


def class_archive(version: str, kind: str, java: str) -> Path:
    """Where the class-data sharing archive of ``kind`` JVMs of ``version`` run by ``java`` is kept: named after the
    Java binary (its real path, size and time), since an archive only serves the JVM that made it."""
    real = os.path.realpath(java)
    st = os.stat(real)
    key = hashlib.sha256(f"{real}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:12]
    return distribution_lib(version).parent / "class-archives" / f"{kind}-{key}.jsa"


def _dependencies(version: str) -> str:
    """The distribution's assembly pom where Maven Central has a usable one; for the others (5.18.x, 2025.x), the server
    module and the Community edition module (the server entry point), which bring the same jars."""
    # 2025.x's assembly pom also names modules Maven Central does not serve (neo4j-push-to-cloud,
    # neo4j-genai-plugin, cypher-shell), so its jars are gathered the same way.
    if version.startswith("5.18.") or is_calendar(version):
        artifacts = [("org.neo4j.app", "neo4j-server", "jar"), ("org.neo4j", "neo4j", "jar")]
    else:
        artifacts = [("org.neo4j.assembly", "neo4j-community-standalone", "pom")]
    return "\n".join(
        f"    <dependency><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{version}</version>"
        f"<type>{t}</type></dependency>"
        for g, a, t in artifacts
    )


def fetch(version: str = NEO4J_VERSION) -> Path:
    """Gather the jars of the Community distribution with Maven; a no-op when cached."""
    lib = distribution_lib(version)
    marker = lib.parent / "complete"
    if marker.exists():
        return lib
    if shutil.which("mvn") is None:
        raise Neo4jError("Maven (mvn) is needed to fetch Neo4j from Maven Central; install it (apt-get install maven)")
    work = lib.parent / "pom"
    work.mkdir(parents=True, exist_ok=True)
    (work / "pom.xml").write_text(POM_TEMPLATE.format(dependencies=_dependencies(version)))
    staging = lib.parent / "lib.partial"
    shutil.rmtree(staging, ignore_errors=True)
    cmd = [
        "mvn",
        "-q",
        "-B",
        "-f",
        str(work / "pom.xml"),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={staging}",
        "-DincludeScope=runtime",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise Neo4jError(f"fetching Neo4j {version} from Maven Central failed:\n{proc.stdout}{proc.stderr}")
    if not list(staging.glob(f"neo4j-server-{version}.jar")):
        raise Neo4jError(f"Maven finished but neo4j-server-{version}.jar is missing in {staging}")
    shutil.rmtree(lib, ignore_errors=True)
    shutil.rmtree(lib.parent / "class-archives", ignore_errors=True)  # made of the jars replaced
    staging.rename(lib)
    marker.write_text(version + "\n")
    return lib


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a temporary file beside it, fsync, rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


@dataclasses.dataclass
class Neo4jInstance:
    home: Path
    bolt_port: int = 7687
    http_port: int = 7474
    heap: str = "512m"
    pagecache: str = "256m"
    version: str = NEO4J_VERSION

    # -- layout -----------------------------------------------------------------
    @property
    def conf_dir(self) -> Path:
        return self.home / "conf"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def pid_file(self) -> Path:
        return self.home / "run" / "neo4j.pid"

    @property
    def operation_lock_file(self) -> Path:
        return self.home / "run" / "portal-operation.lock"

    @property
    def lib(self) -> Path:
        return distribution_lib(self.version)

    @classmethod
    def load(cls, home: str | os.PathLike) -> Neo4jInstance:
        home = Path(home).resolve()
        try:
            settings = json.loads((home / "instance.json").read_text())
        except FileNotFoundError:
            raise Neo4jError(f"{home} is not an initialised Neo4j instance (no instance.json)") from None
        return cls(home=home, **settings)

    # -- set-up -----------------------------------------------------------------
    def init(self, password: str) -> None:
        """Write configuration and set the initial password; idempotent."""
        fetch(self.version)
        self.home = self.home.resolve()
        for d in (self.conf_dir, self.data_dir, self.logs_dir, self.pid_file.parent):
            d.mkdir(parents=True, exist_ok=True)
        self.write_config()
        marker = self.home / "password-set"
        if not marker.exists():
            # Only effective before the first start, which is why it is guarded by the marker.
            args = (
                ["set-initial-password", password]
                if is_44(self.version)
                else ["dbms", "set-initial-password", password]
            )
            self.admin(args, check=True)
            marker.write_text("")

    def write_config(self) -> None:
        """neo4j.conf, then instance.json, for ``self.version``; rewritten when the instance changes version.

        Each file is replaced atomically and instance.json (which names the version) last: a process killed midway
        leaves the old version's files or a consistent pair, never a truncated file (see ``_replace``).
        """
        lines = self._config_44() if is_44(self.version) else self._config_5()
        _replace(self.conf_dir / "neo4j.conf", "\n".join(lines))
        self._write_distribution_layout()
        settings = {k: v for k, v in dataclasses.asdict(self).items() if k != "home"}
        _replace(self.home / "instance.json", json.dumps(settings, indent=2) + "\n")

    def _write_distribution_layout(self) -> None:
        """``bin/neo4j``, ``bin/neo4j-admin`` and ``lib`` as a distribution has them (see the module's docstring)."""
        bindir = self.home / "bin"
        bindir.mkdir(parents=True, exist_ok=True)
        run = f'PYTHONPATH="{ROOT}" exec "{sys.executable}" -m devtools.local_neo4j'
        scripts = {
            "neo4j": f'case "$1" in console) {run} console "{self.home}" ;; *) {run} "$1" --home "{self.home}" ;; esac',
            "neo4j-admin": f'{run} admin "{self.home}" "$@"',
        }
        for name, line in scripts.items():
            text = f"#!/bin/sh\n# DEV TOOL (devtools/local_neo4j.py): this instance's {name}, as a distribution's.\n{line}\n"
            _replace(bindir / name, text)
            (bindir / name).chmod(0o755)
        link = self.home / ".lib.tmp"
        link.unlink(missing_ok=True)
        link.symlink_to(self.lib)
        os.replace(link, self.home / "lib")

    def is_cached(self, version: str) -> str | None:
        """What is missing to run ``version`` from the cache (None: nothing); never fetches."""
        if not (distribution_lib(version).parent / "complete").exists():
            return f"Neo4j {version} is not in the cache: python3 -m devtools.local_neo4j fetch --version {version}"
        if is_44(version):
            if not (java11.root() / "complete").exists():
                return f"Java 11 for Neo4j {version} is not in the cache: python3 -m devtools.java11"
        return None

    def switch(self, version: str) -> None:
        """Make the instance ``version`` (configuration included), from the cache only; it must be stopped."""
        if self.pid() is not None:
            raise Neo4jError(f"Neo4j at {self.home} must be stopped before switching to {version}")
        missing = self.is_cached(version)
        if missing:
            raise Neo4jError(missing)
        self.version = version
        self.write_config()

    def heap_from_config(self) -> str:
        """The heap neo4j.conf asks for (a scratch configuration may), else the instance's."""
        conf = Path(os.environ.get("NEO4J_CONF") or self.conf_dir) / "neo4j.conf"
        for line in conf.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() in ("server.memory.heap.max_size", "dbms.memory.heap.max_size") and value.strip():
                return value.strip()
        return self.heap

    def console(self) -> None:
        """Run the server in the foreground (this process becomes it), as ``neo4j console`` does; NEO4J_HOME and
        NEO4J_CONF from the environment when set."""
        heap = self.heap_from_config()
        home = os.environ.get("NEO4J_HOME") or str(self.home)
        conf = os.environ.get("NEO4J_CONF") or str(self.conf_dir)
        java = self.java()
        cmd = [
            java,
            f"-Xms{heap}",
            f"-Xmx{heap}",
            *self.jvm_flags(java, "server"),
            "-cp",
            f"{self.lib}/*",
            server_main(self.version),
        ]
        os.execv(cmd[0], [*cmd, f"--home-dir={home}", f"--config-dir={conf}"])

    def exec_admin(self, args: list[str]) -> None:
        """Become neo4j-admin ARGS (NEO4J_HOME and NEO4J_CONF default to the instance's)."""
        env = {"NEO4J_HOME": str(self.home), "NEO4J_CONF": str(self.conf_dir), **os.environ}
        cmd = self.admin_command(args)
        os.execve(cmd[0], cmd, env)

    def _config_5(self) -> list[str]:
        return [
            "server.default_listen_address=127.0.0.1",
            "server.default_advertised_address=127.0.0.1",
            f"server.bolt.listen_address=127.0.0.1:{self.bolt_port}",
            f"server.http.listen_address=127.0.0.1:{self.http_port}",
            "server.https.enabled=false",
            f"server.directories.data={self.data_dir}",
            f"server.directories.logs={self.logs_dir}",
            f"server.directories.run={self.pid_file.parent}",
            f"server.memory.pagecache.size={self.pagecache}",
            "dbms.security.auth_enabled=true",
            # A stop without Bolt's idle wait (docs/outage.md "What the outage is made of").
            f"{BOLT_QUIET_PERIOD_5}=0",
            # No traffic leaves this machine (a jar set without the usage-report module has none to turn off).
            *(["dbms.usage_report.enabled=false"] if list(self.lib.glob("neo4j-udc-*.jar")) else []),
            "",
        ]

    def _config_44(self) -> list[str]:
        # 4.4 names the same settings dbms.connector.* / dbms.directories.*; it has no usage reporting to turn off.
        return [
            "dbms.default_listen_address=127.0.0.1",
            "dbms.default_advertised_address=127.0.0.1",
            f"dbms.connector.bolt.listen_address=127.0.0.1:{self.bolt_port}",
            f"dbms.connector.http.listen_address=127.0.0.1:{self.http_port}",
            "dbms.connector.https.enabled=false",
            f"dbms.directories.data={self.data_dir}",
            f"dbms.directories.logs={self.logs_dir}",
            f"dbms.directories.run={self.pid_file.parent}",
            f"dbms.memory.pagecache.size={self.pagecache}",
            "dbms.security.auth_enabled=true",
            f"{BOLT_QUIET_PERIOD_44}=0",
            "",
        ]

    def java(self) -> str:
        return java_for(self.version)

    # -- process control --------------------------------------------------------
    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def is_up(self) -> bool:
        if self.pid() is None:
            return False
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/", timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False

    # -- the operation lock (see the module's docstring) ----------------------------------------------------
    def hold_stopped(self, holder: str) -> None:
        """Take the operation lock for this process (a no-op when it has it already)."""
        try:
            neo4j_lock.hold(self.operation_lock_file, holder, f"Neo4j at {self.home}")
        except neo4j_lock.LockHeld as exc:
            raise Neo4jError(str(exc)) from None

    def release_stopped(self) -> None:
        """Give the operation lock back (a no-op when this process does not hold it)."""
        neo4j_lock.release(self.operation_lock_file)

    def stopped_by(self) -> str | None:
        """Who holds the server stopped, when another process holds the operation lock."""
        return neo4j_lock.holder(self.operation_lock_file)

    def refuse_if_held(self) -> None:
        holder = self.stopped_by()
        if holder:
            raise Neo4jError(
                f"Neo4j at {self.home} is held stopped by a portal operation ({holder}); not starting "
                f"it. It is started again when the operation ends: see the admin's Operation runs"
            )

    def jvm_flags(self, java: str, kind: str, archive_to: Path | None = None) -> list[str]:
        """JVM_FLAGS, and the fast-start ones when asked for (the module's docstring); ``archive_to``: write the
        classes this JVM loads to that archive when it exits (``make_class_archives``)."""
        if archive_to is not None:
            return [*JVM_FLAGS, f"-XX:ArchiveClassesAtExit={archive_to}"]
        if not fast_jvm(self.version):
            return JVM_FLAGS
        archive = class_archive(self.version, kind, java)
        return [*JVM_FLAGS, *FAST_JVM_FLAGS, *([f"-XX:SharedArchiveFile={archive}"] if archive.exists() else [])]

    def start(self, timeout: float = 120.0, archive_to: Path | None = None) -> None:
        if self.pid() is not None:
            self.wait_up(timeout)
            return
        self.refuse_if_held()
        for port in (self.bolt_port, self.http_port):
            if port_in_use(port):
                raise Neo4jError(
                    f"port {port} on 127.0.0.1 is already in use by another process, not by the Neo4j at "
                    f"{self.home}; stop that process or choose other ports"
                )
        java = self.java()
        cmd = [
            java,
            f"-Xms{self.heap}",
            f"-Xmx{self.heap}",
            *self.jvm_flags(java, "server", archive_to),
            "-cp",
            f"{self.lib}/*",
            server_main(self.version),
            f"--home-dir={self.home}",
            f"--config-dir={self.conf_dir}",
        ]
        console = open(self.logs_dir / "console.log", "ab")
        proc = subprocess.Popen(
            cmd,
            stdout=console,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=self.home,
            user=self._data_owner(),
        )
        console.close()
        self.pid_file.write_text(f"{proc.pid}\n")
        self.wait_up(timeout)
        self.release_stopped()

    def wait_up(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.is_up():
                return
            if self.pid() is None:
                raise Neo4jError(
                    f"Neo4j exited during start-up; see {self.logs_dir / 'console.log'} "
                    f"and {self.logs_dir / 'neo4j.log'}:\n{self.log_tail()}"
                )
            time.sleep(0.25)
        raise Neo4jError(f"Neo4j did not answer on 127.0.0.1:{self.http_port} within {timeout:.0f} s")

    def stop(self, timeout: float = 120.0) -> None:
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and pid_alive(pid):
            time.sleep(0.2)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
            while pid_alive(pid):
                time.sleep(0.1)
        self.pid_file.unlink(missing_ok=True)

    def log_tail(self, lines: int = 20) -> str:
        for name in ("console.log", "neo4j.log"):
            path = self.logs_dir / name
            if path.exists() and path.stat().st_size:
                return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    # -- neo4j-admin --------------------------------------------------------------
    def _data_owner(self) -> int | None:
        """The uid owning the data directory, when it differs from ours (we may be root)."""
        try:
            owner = self.data_dir.stat().st_uid
        except FileNotFoundError:
            return None
        return owner if owner != os.getuid() and os.getuid() == 0 else None

    def admin_command(self, args: list[str], archive_to: Path | None = None) -> list[str]:
        java = self.java()
        return [java, "-Xmx512m", *self.jvm_flags(java, "admin", archive_to), "-cp", f"{self.lib}/*", ADMIN_MAIN, *args]

    def admin_env(self) -> dict[str, str]:
        return {**os.environ, "NEO4J_HOME": str(self.home), "NEO4J_CONF": str(self.conf_dir)}

    def admin(
        self, args: list[str], check: bool = False, archive_to: Path | None = None
    ) -> subprocess.CompletedProcess:
        """Run neo4j-admin as the owner of the data directory; output captured."""
        proc = subprocess.run(
            self.admin_command(args, archive_to),
            env=self.admin_env(),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            user=self._data_owner(),
            cwd=self.home,
        )
        if check and proc.returncode != 0:
            raise Neo4jError(f"neo4j-admin {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
        return proc


def make_class_archives(version: str = NEO4J_VERSION) -> list[Path]:
    """The fast starts' class-data sharing archives of ``version`` (module docstring), made once per version and
    Java: a throwaway server started, asked a Cypher query over HTTP and stopped, then a neo4j-admin dump, each
    writing the classes it loaded when it exits. 4.4's Java 11 cannot write them: none for 4.4."""
    if is_44(version):
        return []
    fetch(version)
    java = java_for(version)
    wanted = {kind: class_archive(version, kind, java) for kind in ARCHIVE_KINDS}
    if all(path.exists() for path in wanted.values()):
        return list(wanted.values())
    work = Path(tempfile.mkdtemp(prefix="class-archives-", dir=distribution_lib(version).parent))
    try:
        inst = Neo4jInstance(home=work, bolt_port=free_port(), http_port=free_port(), version=version)
        password = "class-archives-" + os.urandom(4).hex()
        inst.init(password)
        made = {kind: work / f"{kind}.jsa" for kind in ARCHIVE_KINDS}
        inst.start(archive_to=made["server"])
        try:
            http_cypher(inst.http_port, CLASS_ARCHIVE_QUERY, password)
        finally:
            inst.stop()
        inst.admin(["database", "dump", "neo4j", f"--to-path={work}"], check=True, archive_to=made["admin"])
        for kind, path in wanted.items():
            if not made[kind].exists():
                raise Neo4jError(f"the JVM wrote no {kind} class archive (see {inst.logs_dir})")
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(made[kind], path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return list(wanted.values())


def free_port() -> int:
    """A loopback port the kernel picks as free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_cypher(port: int, statement: str, password: str | None = None) -> None:
    """Run one Cypher statement through the HTTP API on 127.0.0.1:``port`` (as neo4j, or with authentication off);
    Neo4jError when Neo4j refuses it, OSError while nothing answers."""
    headers = {"Content-Type": "application/json"}
    if password is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"neo4j:{password}".encode()).decode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/db/neo4j/tx/commit",
        data=json.dumps({"statements": [{"statement": statement}]}).encode(),
        headers=headers,
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        errors = json.loads(resp.read()).get("errors")
    if errors:
        raise Neo4jError(f"Cypher over HTTP failed: {errors}")


def portal_settings(home: Path) -> dict[str, str]:
    """The portal's local-target settings for the instance at ``home`` (docs/local-target.md): the home alone gives
    neo4j.conf, neo4j-admin and the start and stop commands (its bin/neo4j); switching versions is this module's."""
    script = Path(__file__).resolve()
    switch = shlex.join([sys.executable, str(script), "switch", "--home", str(home), "--version", "{version}"])
    return {"PORTAL_NEO4J_HOME": str(home), "PORTAL_NEO4J_SWITCH_COMMAND": switch}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="local_neo4j", description=__doc__.splitlines()[0])
    # The instance's bin/ scripts: `console HOME` and `admin HOME ARGS...` (neo4j-admin's own arguments follow).
    if argv[:1] in (["console"], ["admin"]) and len(argv) >= 2:
        try:
            inst = Neo4jInstance.load(argv[1])
            inst.console() if argv[0] == "console" else inst.exec_admin(argv[2:])
        except Neo4jError as exc:
            print(f"error: {exc}", file=sys.stderr)
        return 1
    parser.add_argument("command", choices=["fetch", "start", "stop", "status", "switch", "class-archives"])
    parser.add_argument("--home")
    parser.add_argument(
        "--version", default=NEO4J_VERSION, help="for fetch, switch and class-archives: which Neo4j release"
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            print(fetch(args.version))
            if is_44(args.version):
                print(java11.ensure())
            return 0
        if args.command == "class-archives":
            for path in make_class_archives(args.version):
                print(path)
            return 0
        inst = Neo4jInstance.load(args.home)
        if args.command == "switch":
            inst.switch(args.version)
            print(f"the instance at {inst.home} is Neo4j {inst.version} (stopped)")
            return 0
        if args.command == "start":
            inst.start()
        elif args.command == "stop":
            inst.stop()
        up = inst.is_up()
        print("up" if up else "down")
        # As a distribution's `neo4j status`: non-zero when not running.
        return 0 if up or args.command == "stop" else 3
    except Neo4jError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
