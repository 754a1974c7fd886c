#!/usr/bin/env python3
"""Start and stop a PostgreSQL 15 server of the portal's own (Debian's ``postgresql`` package) on 127.0.0.1.

    python3 scripts/postgres.py up   [--profile dev|test]   start it, print the DATABASE_URL that reaches it
    python3 scripts/postgres.py down [--profile dev|test]   stop it (its data is kept)
    python3 scripts/postgres.py env  [--profile dev|test]   print the DATABASE_URL only

Opt-in: ``make run`` keeps SQLite; ``make test`` starts this for its PostgreSQL pass (scripts/test.sh), and
``make services-up POSTGRES=1`` for a developer who wants to try the portal on PostgreSQL. The server lives in
``.run/<profile>/postgres/`` (``.run/test-N/`` for slot N) on port 15433 (dev: 5433) + 100 * slot, password
authentication only, as the ``postgres`` system user when run as root. The cluster is kept between ``up``s; its
password is in ``postgres-password`` beside it. Standard library only, so it runs before the virtualenv exists.
tests/operations/test_portal_db_copy.py starts a second, throw-away server with the same class.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from operations.processes import pid_alive  # noqa: E402

PG_BIN = Path(os.environ.get("PORTAL_PG_BIN", "/usr/lib/postgresql/15/bin"))
USER = "portal_admin"
PORTS = {"dev": 5433, "test": 15433}


class PostgresError(RuntimeError):
    pass


class PostgresServer:
    """One cluster: ``home/data`` its data directory, ``home/server.log`` its log, its socket in ``home``."""

    def __init__(self, home: Path, port: int):
        self.home = Path(home)
        self.data = self.home / "data"
        self.port = port

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        # initdb and the server refuse to run as root: as root they run as Debian's `postgres` user.
        command = ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)
        proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise PostgresError(
                f"{Path(args[0]).name} exited with {proc.returncode}: {(proc.stderr or proc.stdout).strip()[-2000:]}"
            )
        return proc

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            shutil.chown(path, "postgres", "postgres")

    def running(self) -> bool:
        """A postmaster.pid whose process is alive (one left by a machine that stopped is not a running server)."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return False
        return pid_alive(pid)

    def init(self, password: str) -> None:
        """A new cluster whose superuser is ``portal_admin`` with ``password`` (nothing when one exists)."""
        if (self.data / "PG_VERSION").exists():
            return
        if not (PG_BIN / "initdb").exists():
            raise PostgresError(
                f"PostgreSQL 15 is not installed ({PG_BIN / 'initdb'} is missing): "
                "apt-get install postgresql (make test installs it)"
            )
        self.home.mkdir(parents=True, exist_ok=True)
        self._chown(self.home)
        pwfile = self.home / "pwfile"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        self._chown(pwfile)
        try:
            self._run(
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                f"--username={USER}",
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def start(self) -> None:
        if self.running():
            return
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.home / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.home}",
            "start",
        )

    def stop(self) -> None:
        if self.running():
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def create_database(self, password: str, name: str) -> None:
        """``name`` if it does not exist yet (Django's tests create their own ``test_<name>`` beside it)."""
        env = {**os.environ, "PGPASSWORD": password}
        proc = subprocess.run(
            [
                str(PG_BIN / "createdb"),
                "--host=127.0.0.1",
                f"--port={self.port}",
                f"--username={USER}",
                "--no-password",
                name,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        if proc.returncode != 0 and "already exists" not in proc.stderr:
            raise PostgresError(f"createdb exited with {proc.returncode}: {proc.stderr.strip()[-2000:]}")

    def url(self, password: str, database: str = "") -> str:
        return f"postgres://{USER}:{quote(password, safe='')}@127.0.0.1:{self.port}/{database}"


def profile_server(profile: str) -> tuple[PostgresServer, Path]:
    """The profile's server (ports and state directory as scripts/services.py chooses them) and its password file."""
    state = ROOT / ".run" / profile
    port = int(os.environ.get("PORTAL_POSTGRES_PORT", PORTS[profile]))
    slot = int(os.environ.get("PORTAL_TEST_SLOT", "0") or 0) if profile == "test" else 0
    if slot:
        state = ROOT / ".run" / f"test-{slot}"
        port += 100 * slot
    return PostgresServer(state / "postgres", port), state / "postgres-password"


def password_in(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(18))
        path.chmod(0o600)
    return path.read_text().strip()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="The portal's own PostgreSQL server (opt-in)")
    parser.add_argument("command", choices=["up", "down", "env"])
    parser.add_argument("--profile", choices=sorted(PORTS), default="dev")
    parser.add_argument("--database", default="portal", help="the database name in the printed DATABASE_URL")
    args = parser.parse_args(argv)
    server, pwfile = profile_server(args.profile)
    try:
        if args.command == "down":
            server.stop()
            return 0
        password = password_in(pwfile)
        if args.command == "up":
            server.init(password)
            server.start()
            server.create_database(password, args.database)
    except PostgresError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    line = f"DATABASE_URL={server.url(password, args.database)}"
    if args.command == "up":
        env_file = pwfile.with_name("postgres.env")
        env_file.write_text(line + "\n")
        env_file.chmod(0o600)
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
