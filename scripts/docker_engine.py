#!/usr/bin/env python3
"""A private Docker engine for the tests: Debian's ``dockerd`` without a bridge or iptables.

    python3 scripts/docker_engine.py up   [--user PID]   start it (or join the running one); prints DOCKER_HOST=...
    python3 scripts/docker_engine.py down [--user PID]   leave it; the last user out stops it
    python3 scripts/docker_engine.py status              is it answering?

Containers on this engine can only use ``network_mode="host"`` or ``"none"`` (docs/facts.md): no ``docker0`` bridge
exists and nothing rewrites the host's firewall, so no private-range address is ever handed out. The engine keeps
its own socket, pid file and exec root under ``/run/alchemiscale-portal-docker`` (beside any system Docker, never
instead of it) and its images under the project cache, so images built once (scripts/neo4j_image.py) survive
between runs. Several test suites (slots) may share it: each ``up`` registers a user pid and ``down`` only stops the
engine when no registered user is alive any more. Standard library only.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.local_neo4j import cache_dir  # noqa: E402
from operations.processes import pid_alive  # noqa: E402

RUN_DIR = Path(os.environ.get("PORTAL_DOCKER_RUN_DIR", "/run/alchemiscale-portal-docker"))
SOCKET = RUN_DIR / "docker.sock"
PID_FILE = RUN_DIR / "dockerd.pid"
USERS_DIR = RUN_DIR / "users"
LOCK_FILE = RUN_DIR / "lock"


def data_root() -> Path:
    return cache_dir() / "docker"


def docker_host() -> str:
    return f"unix://{SOCKET}"


def answering(timeout: float = 2.0) -> bool:
    """True when the engine's API answers ``/_ping`` on our socket."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(SOCKET))
            s.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return b" 200 " in s.recv(256)
    except OSError:
        return False


def engine_pid() -> int | None:
    try:
        pid = int(PID_FILE.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def _live_users() -> list[int]:
    users = []
    for entry in USERS_DIR.glob("*"):
        try:
            pid = int(entry.name)
        except ValueError:
            entry.unlink(missing_ok=True)
            continue
        if pid_alive(pid):
            users.append(pid)
        else:
            entry.unlink(missing_ok=True)
    return users


def start(timeout: float = 60.0) -> None:
    if engine_pid() is not None and answering():
        return
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise SystemExit("error: dockerd is not installed; run scripts/bootstrap.sh (apt-get install docker.io)")
    root = data_root()
    root.mkdir(parents=True, exist_ok=True)
    log_path = root.parent / "dockerd.log"
    cmd = [
        dockerd,
        f"--host={docker_host()}",
        f"--data-root={root / 'data'}",
        f"--exec-root={RUN_DIR / 'exec'}",
        f"--pidfile={PID_FILE}",
        # No bridge, no NAT: containers get the host's loopback or nothing (docs/facts.md).
        "--bridge=none",
        "--iptables=false",
        "--ip6tables=false",
        "--ip-masq=false",
        "--userland-proxy=false",
    ]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    deadline = time.monotonic() + timeout
    while not answering():
        if proc.poll() is not None:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
            raise SystemExit(f"error: dockerd exited ({proc.returncode}); see {log_path}:\n{tail}")
        if time.monotonic() > deadline:
            raise SystemExit(f"error: dockerd did not answer on {SOCKET} within {timeout:.0f} s; see {log_path}")
        time.sleep(0.2)


def stop(timeout: float = 60.0) -> None:
    pid = engine_pid()
    if pid is None:
        return
    # dockerd stops its containers (and its own containerd) on SIGTERM.
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument(
        "--user",
        type=int,
        default=os.getppid(),
        help="pid whose lifetime holds the engine up (default: the calling shell)",
    )
    args = parser.parse_args(argv)
    if args.command == "status":
        print("up" if answering() else "down")
        return 0 if answering() else 1
    USERS_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOCK_FILE, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if args.command == "up":
            (USERS_DIR / str(args.user)).touch()
            start()
            print(f"DOCKER_HOST={docker_host()}")
        else:
            (USERS_DIR / str(args.user)).unlink(missing_ok=True)
            if not _live_users():
                stop()
                print("docker engine stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
