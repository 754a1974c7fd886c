"""A real `celery beat` process (the portal's scheduler) sharing the test database and Redis."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from tests.conftest import worker_database_url

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def beat_process(heartbeat_seconds: int = 1, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """Start beat and wait for its first heartbeat; stop it afterwards (its heartbeat key is removed too)."""
    from operations.unattended.beat import HEARTBEAT_KEY, _redis, heartbeat

    env = {**os.environ, "PORTAL_BEAT_HEARTBEAT_SECONDS": str(heartbeat_seconds), **(env or {})}
    env["DATABASE_URL"] = worker_database_url()
    _redis().delete(HEARTBEAT_KEY)
    log_path = Path(settings.DATA_DIR) / "celery-beat-test.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "alchemiscale_portal", "beat", "-l", "info"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while heartbeat() is None:
            if proc.poll() is not None:
                raise RuntimeError(f"celery beat exited at start; see {log_path}:\n{log_path.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"celery beat wrote no heartbeat within 60 s; see {log_path}")
            time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        _redis().delete(HEARTBEAT_KEY)
