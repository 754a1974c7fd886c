"""``operations.processes.pid_alive``: the one answer to "does this process still run" that the local target and the
dev tools' instance manager share. A zombie (exited, not yet reaped by its parent) counts as gone: its pid file
still names it and kill(0) still succeeds, but it will never answer again."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from devtools import local_neo4j
from operations.processes import pid_alive
from operations.runs import recovery
from operations.targets.local import admin, own_servers, supervisor

pytestmark = pytest.mark.unit


def test_a_running_process_is_alive():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert pid_alive(os.getpid())
        assert pid_alive(child.pid)
    finally:
        child.kill()
        child.wait()


def test_a_zombie_is_gone_and_so_is_a_reaped_process():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    # Not reaped yet: the child stays a zombie until wait().
    while time.monotonic() < deadline:
        with open(f"/proc/{child.pid}/stat") as fh:
            if fh.read().split(")")[-1].split()[0] == "Z":
                break
        time.sleep(0.02)
    assert not pid_alive(child.pid)
    child.wait()
    assert not pid_alive(child.pid)


def test_the_local_target_and_the_dev_tools_use_this_one():
    assert supervisor.pid_alive is admin.pid_alive is own_servers.pid_alive is pid_alive
    assert local_neo4j.pid_alive is recovery.pid_alive is pid_alive
