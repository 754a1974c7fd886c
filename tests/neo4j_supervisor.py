#!/usr/bin/env python3
"""TEST STAND-IN for a service manager (systemd): runs one foreground command as a service, the way a unit with
``Type=simple`` and ``ExecStart=/path/to/neo4j console`` does. The tests point the local target's start, stop and
status commands at it, so the target drives Neo4j only through commands, never through the project's instance
manager.

    neo4j_supervisor.py start  --state DIR -- CMD ARGS...   like `systemctl start`: returns once CMD is started
    neo4j_supervisor.py stop   --state DIR                   like `systemctl stop`: SIGTERM, returns when CMD is gone
    neo4j_supervisor.py status --state DIR                   like `systemctl is-active`: exit 0 running, 3 not

The supervisor process (``run``) keeps CMD as its child in a session of its own, forwards SIGTERM to it and removes
its pid file when CMD ends; CMD's output goes to ``DIR/console.log``. Standard library only.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _pid(state: Path) -> int | None:
    try:
        pid = int((state / "supervisor.pid").read_text())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _alive(pid) else None


def run(state: Path, command: list[str]) -> int:
    with open(state / "console.log", "ab") as log:
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    (state / "main.pid").write_text(f"{child.pid}\n")
    signal.signal(signal.SIGTERM, lambda *_: child.send_signal(signal.SIGTERM))
    code = child.wait()
    (state / "supervisor.pid").unlink(missing_ok=True)
    (state / "main.pid").unlink(missing_ok=True)
    return code


def start(state: Path, command: list[str]) -> int:
    if _pid(state) is not None:
        return 0
    state.mkdir(parents=True, exist_ok=True)
    (state / "main.pid").unlink(missing_ok=True)
    sup = subprocess.Popen(
        [sys.executable, __file__, "run", "--state", str(state), "--", *command],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    (state / "supervisor.pid").write_text(f"{sup.pid}\n")
    deadline = time.monotonic() + 30
    while not (state / "main.pid").exists():
        if sup.poll() is not None or time.monotonic() > deadline:
            print(f"the service did not start; see {state / 'console.log'}", file=sys.stderr)
            return 1
        time.sleep(0.05)
    return 0


def stop(state: Path, timeout: float = 120) -> int:
    pid = _pid(state)
    if pid is None:
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)  # as systemd's final SIGKILL to the unit's processes
        time.sleep(0.1)
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop", "status", "run"])
    parser.add_argument("--state", required=True, type=Path)
    cut = argv.index("--") if "--" in argv else len(argv)
    args, command = parser.parse_args(argv[:cut]), argv[cut + 1 :]
    if args.action == "run":
        return run(args.state, command)
    if args.action == "start":
        return start(args.state, command)
    if args.action == "stop":
        return stop(args.state)
    return 0 if _pid(args.state) is not None else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
