#!/usr/bin/env python3
"""Start and stop the portal's backing services (Neo4j, Redis) on 127.0.0.1.

    python3 scripts/services.py up   [--profile dev|test]   start both, print the environment that reaches them
    python3 scripts/services.py down [--profile dev|test]   stop both (data is kept)
    python3 scripts/services.py env  [--profile dev|test]   print the environment only

Idempotent: ``up`` twice leaves one Neo4j and one Redis running. Standard library only, so it runs before the
virtualenv exists. Each profile keeps its state under ``.run/<profile>/`` and its own ports, so the test suite
never touches the data of ``make run``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.local_neo4j import Neo4jError, Neo4jInstance, port_in_use, portal_settings  # noqa: E402
from operations.processes import pid_alive  # noqa: E402

PROFILES = {
    # profile: (bolt, http, redis); each can be overridden by PORTAL_<NAME>_PORT
    "dev": (7687, 7474, 6379),
    "test": (17687, 17474, 16379),
}


def _port(name: str, default: int) -> int:
    raw = os.environ.get(f"PORTAL_{name}_PORT")
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"error: PORTAL_{name}_PORT must be a port number, got {raw!r}") from None


class Profile:
    def __init__(self, name: str):
        bolt, http, redis = PROFILES[name]
        self.name = name
        self.state = ROOT / ".run" / name
        # Several test suites can run side by side on one machine, each in its own slot (ports + 100 * slot).
        slot = int(os.environ.get("PORTAL_TEST_SLOT", "0") or 0) if name == "test" else 0
        if slot:
            bolt, http, redis = bolt + 100 * slot, http + 100 * slot, redis + 100 * slot
            self.state = ROOT / ".run" / f"test-{slot}"
        self.bolt_port = _port("NEO4J_BOLT", bolt)
        self.http_port = _port("NEO4J_HTTP", http)
        self.redis_port = _port("REDIS", redis)
        self.neo4j = Neo4jInstance(
            home=(self.state / "neo4j").resolve(),
            bolt_port=self.bolt_port,
            http_port=self.http_port,
            heap=os.environ.get("PORTAL_NEO4J_HEAP", "512m"),
            pagecache=os.environ.get("PORTAL_NEO4J_PAGECACHE", "256m"),
        )

    @property
    def password(self) -> str:
        path = self.state / "neo4j-password"
        if not path.exists():
            self.state.mkdir(parents=True, exist_ok=True)
            path.write_text("p" + secrets.token_urlsafe(18))  # never "-...": neo4j-admin would read an option
            path.chmod(0o600)
        return path.read_text().strip()

    def environment(self) -> dict[str, str]:
        return {
            "NEO4J_URL": f"bolt://127.0.0.1:{self.bolt_port}",
            "NEO4J_USER": "neo4j",
            "NEO4J_PASS": self.password,
            "NEO4J_DBNAME": "neo4j",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            # The local target's settings for this instance (docs/local-target.md).
            **portal_settings(self.neo4j.home),
            "PORTAL_BACKUP_DIR": str(self.state / "backups"),
            "PORTAL_DATA_DIR": str(self.state),
        }

    def write_env(self) -> Path:
        path = self.state / "services.env"
        # Sourced by shell scripts (`set -a; . services.env`): values quoted as a shell reads them.
        path.write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in self.environment().items()))
        path.chmod(0o600)
        return path

    # -- redis ------------------------------------------------------------------
    @property
    def redis_pid_file(self) -> Path:
        return self.state / "redis" / "redis.pid"

    def redis_pid(self) -> int | None:
        try:
            pid = int(self.redis_pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def redis_up(self) -> None:
        if self.redis_pid() is not None:
            return
        if port_in_use(self.redis_port):
            raise Neo4jError(
                f"port {self.redis_port} on 127.0.0.1 is already in use by another process, not by "
                f"this profile's Redis; stop it or set PORTAL_REDIS_PORT"
            )
        server = shutil.which("redis-server")
        if server is None:
            raise Neo4jError("redis-server is not installed (apt-get install redis-server)")
        rdir = self.redis_pid_file.parent
        rdir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                server,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
                "--dir",
                str(rdir),
                "--pidfile",
                str(self.redis_pid_file),
                "--logfile",
                str(rdir / "redis.log"),
            ],
            check=True,
        )
        deadline = time.monotonic() + 20
        while not port_in_use(self.redis_port):
            if time.monotonic() > deadline:
                raise Neo4jError(f"Redis did not start; see {rdir / 'redis.log'}")
            time.sleep(0.1)

    def redis_down(self) -> None:
        pid = self.redis_pid()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
        self.redis_pid_file.unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Backing services of alchemiscale-portal")
    parser.add_argument("command", choices=["up", "down", "env"])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="dev")
    args = parser.parse_args(argv)
    profile = Profile(args.profile)
    try:
        if args.command == "up":
            profile.state.mkdir(parents=True, exist_ok=True)
            profile.redis_up()
            # Before init, which rewrites the configuration: an operation may be switching the Neo4j version.
            profile.neo4j.refuse_if_held()
            profile.neo4j.init(profile.password)
            profile.neo4j.start()
        elif args.command == "down":
            profile.neo4j.stop()
            profile.redis_down()
            print(f"services of profile {profile.name} stopped", file=sys.stderr)
            return 0
    except Neo4jError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    env_file = profile.write_env()
    print(env_file.read_text(), end="")
    if args.command == "up":
        print(f"# Neo4j {profile.neo4j.version} and Redis are up; these lines are also in {env_file}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
