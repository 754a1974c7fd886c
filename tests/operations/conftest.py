"""Fixtures for the operations tests: the target (parametrised, so another target can join), graph snapshots,
waiting for runs, and dedicated Celery workers for tests that kill one.

Adding a target to every operations test: add its name to ``TARGET_NAMES`` and make ``get_target(name)`` build it
from the environment the test run exports (the shared ``celery_worker_process`` must see the same environment).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from operations.backups.procedures.dumps import in_progress_dir
from operations.backups.procedures.restore import aside_dir
from operations.models import OperationRun
from operations.targets import Target, get_target
from tests.conftest import worker_database_url
from tests.s3_server import S3Server
from tests.sftp_server import SftpServer

ROOT = Path(__file__).resolve().parents[2]
# The PostgreSQL pass of scripts/test.sh tests the portal's database, not the targets again: the local one only.
TARGET_NAMES = ["local"] if os.environ.get("DATABASE_URL", "").startswith("postgres") else ["local", "docker"]
RUN_TIMEOUT = 600


@pytest.fixture
def sftp(tmp_path, settings, monkeypatch) -> Iterator[SftpServer]:
    """A real OpenSSH SFTP server on loopback (tests/sftp_server.py) as the off-site remote: rclone is given it by
    RCLONE_CONFIG_OFFSITE_* variables only (an empty config file)."""
    server = SftpServer(tmp_path / "sftp").start()
    for name, value in server.rclone_env().items():
        monkeypatch.setenv(name, value)
    (tmp_path / "rclone.conf").write_text("")
    monkeypatch.setenv("RCLONE_CONFIG", str(tmp_path / "rclone.conf"))
    settings.OFFSITE_REMOTE = server.remote
    settings.OFFSITE_CONNECT_TIMEOUT = 3
    yield server
    server.stop()


@pytest.fixture
def s3(tmp_path, monkeypatch) -> Iterator[S3Server]:
    """A real S3-protocol server on loopback (moto's, tests/s3_server.py) with a bucket "locked" under object lock
    (COMPLIANCE, one day), as rclone's remote ``s3lock:``; the test chooses which remote the copies go to."""
    server = S3Server(tmp_path / "s3").start()
    server.bucket("locked", lock_days=1)
    for name, value in server.rclone_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)  # rclone's S3 client refuses a CA bundle with its transport
    if not os.environ.get("RCLONE_CONFIG"):
        (tmp_path / "rclone.conf").write_text("")
        monkeypatch.setenv("RCLONE_CONFIG", str(tmp_path / "rclone.conf"))
    yield server
    server.stop()


@pytest.fixture(params=TARGET_NAMES)
def target(request, settings) -> Iterator[Target]:
    """The Neo4j the operations act on, up and answering; afterwards up again and the backups directory as it was."""
    settings.OPERATIONS_TARGET = request.param
    if request.param == "docker":
        request.getfixturevalue("docker_neo4j")  # the compose-made container, empty graph (tests/docker_fixtures.py)
    t = get_target(request.param)
    if not t.is_up():
        t.start()
    t.wait_for_bolt()
    t.backup_dir.mkdir(parents=True, exist_ok=True)
    before = set(t.backup_dir.iterdir())
    yield t
    if not t.is_up():
        t.start()
    for path in set(t.backup_dir.iterdir()) - before:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    shutil.rmtree(in_progress_dir(t), ignore_errors=True)
    assert not aside_dir(t).exists(), f"a test left data aside in {aside_dir(t)}"
    for side in (t.snapshot_dir(), t.staging_dir()):
        assert not side.exists(), f"a test left a side store in {side}"


def seed_graph(target: Target, tag: str, n: int = 25) -> None:
    """A small alchemiscale-like graph: identities with scopes, networks and relationships between them."""
    target.query(
        "UNWIND range(1, $n) AS i "
        "CREATE (u:CredentialedEntity:CredentialedUserIdentity {identifier: $tag + '-user-' + toString(i), "
        "        hashed_key: 'h' + toString(i), scopes: ['org-camp-p' + toString(i % 3)], disabled: false}) "
        "CREATE (k:GufeTokenizable:AlchemicalNetwork {_scoped_key: $tag + '-net-' + toString(i), _org: 'org', "
        "        _campaign: 'camp', _project: 'p' + toString(i % 3), weight: i * 0.5}) "
        "CREATE (u)-[:OWNS {since: i}]->(k)",
        {"n": n, "tag": tag},
    )
    target.query(
        "MATCH (a:AlchemicalNetwork), (b:AlchemicalNetwork) WHERE a._scoped_key < b._scoped_key "
        "AND a._project = b._project AND a._scoped_key STARTS WITH $tag AND b._scoped_key STARTS WITH $tag "
        "CREATE (a)-[:RELATED {why: a._project}]->(b)",
        {"tag": tag},
    )


def graph_snapshot(target: Target) -> tuple[list, list]:
    """Every node (labels, properties) and relationship (ends, type, properties), sorted: the data, not counts."""
    nodes = target.query("MATCH (n) RETURN labels(n) AS l, properties(n) AS p")
    rels = target.query("MATCH (a)-[r]->(b) RETURN properties(a), type(r), properties(r), properties(b)")

    def key(value: Any) -> str:
        if isinstance(value, dict):
            return repr(sorted((k, key(v)) for k, v in value.items()))
        if isinstance(value, list):
            return repr([key(v) for v in value])
        return repr(value)

    return sorted(key([sorted(labels), p]) for labels, p in nodes), sorted(key(r) for r in rels)


def wait_for(run: OperationRun, timeout: float = RUN_TIMEOUT, until: str = "terminal") -> OperationRun:
    """Poll the row until the run is over (or, with ``until="step:NAME"``, until that step runs)."""
    deadline = time.monotonic() + timeout
    while True:
        run.refresh_from_db()
        if until == "terminal" and run.is_terminal:
            return run
        if until.startswith("step:") and run.steps.filter(name=until[5:], status="running").exists():
            return run
        if until.startswith("step:") and run.is_terminal:
            raise AssertionError(f"run ended ({run.status}: {run.error}) before step {until[5:]!r} ran")
        if time.monotonic() > deadline:
            raise AssertionError(
                f"run #{run.pk} still {run.status} after {timeout} s; steps: "
                f"{[(s.name, s.status) for s in run.steps.all()]}"
            )
        time.sleep(0.2)


@contextlib.contextmanager
def dedicated_worker(name: str, queue: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """A Celery worker of our own (own process group, own queue), for tests that kill one or change its settings
    (with another REDIS_URL in ``env`` it is asked whether it is up through that broker)."""
    from celery import Celery

    from alchemiscale_portal.celery import app as portal_app

    full_env = {**os.environ, **(env or {})}
    # Not the current app: shared tasks sent later in the session must keep the portal's app and result backend.
    app = (
        portal_app
        if full_env.get("REDIS_URL") == settings.REDIS_URL
        else Celery(broker=full_env["REDIS_URL"], set_as_current=False)
    )
    full_env["DATABASE_URL"] = worker_database_url()
    node = f"{name}-{os.getpid()}@{os.uname().nodename}"
    log_path = Path(settings.DATA_DIR) / f"celery-{name}.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "alchemiscale_portal",
                "worker",
                "-l",
                "info",
                "--concurrency",
                "1",
                "-n",
                node,
                "-Q",
                queue,
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while not app.control.ping(destination=[node], timeout=0.5):
            if proc.poll() is not None:
                raise RuntimeError(f"worker {node} exited at start; see {log_path}:\n{log_path.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker {node} did not answer within 120 s; see {log_path}")
        proc.node = node  # type: ignore[attr-defined]
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
