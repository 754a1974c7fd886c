"""A neo4j-admin killed by a signal is reported as such, with what that usually means (docs/reliability.md,
faults 7). A real neo4j-admin of the local target is killed with SIGKILL while it starts; Neo4j keeps running."""

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from devtools.local_neo4j import ADMIN_MAIN
from operations.models import OperationRun
from operations.runs.contract import OperationFailed, RunContext
from operations.targets import AdminResult, get_target
from operations.targets.local import ADMIN_MARKER

pytestmark = pytest.mark.django_db


def _kill_admin_when_seen(conf_dir: Path, sig: int, seen: list[int]) -> None:
    marker = f"{ADMIN_MARKER}={conf_dir}".encode()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not seen:
        for proc in Path("/proc").iterdir():
            try:
                if (
                    proc.name.isdigit()
                    and ADMIN_MAIN.encode() in (proc / "cmdline").read_bytes().split(b"\0")
                    and marker in (proc / "environ").read_bytes().split(b"\0")
                ):
                    os.kill(int(proc.name), sig)
                    seen.append(int(proc.name))
                    return
            except OSError:
                continue
        time.sleep(0.02)


def test_neo4j_admin_killed_by_sigkill_is_reported_with_its_usual_causes():
    target = get_target("local")
    run = OperationRun.objects.create(kind="backup", target="local", requested_by_label="test")
    seen: list[int] = []
    killer = threading.Thread(target=_kill_admin_when_seen, args=(target.conf_dir, signal.SIGKILL, seen))
    killer.start()
    with pytest.raises(OperationFailed) as failure:
        RunContext(run, target).admin(["database", "info", "neo4j"], "the dump failed")
    killer.join()
    assert seen, "neo4j-admin was never seen running"
    message = str(failure.value)
    assert "the dump failed: neo4j-admin was killed by signal 9 (SIGKILL)" in message
    assert "out of memory" in message and "operator" in message


@pytest.mark.unit
def test_exit_descriptions():
    def describe(code: int) -> str:
        return AdminResult(command=[], returncode=code, output="").exit_description()

    assert describe(1) == "exited with 1"
    assert describe(-15).startswith("was killed by signal 15 (SIGTERM)")
    # A container reports a signal as 128 + its number.
    assert "signal 9 (SIGKILL)" in describe(137) and "out of memory" in describe(137)
