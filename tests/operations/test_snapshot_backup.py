"""Backups with no outage (docs/snapshot-backups.md): a Neo4j 5.26 whose data directory is a btrfs subvolume, on a
loop-mounted btrfs image under the test slot's state directory (root only; unmounted in teardown, whatever happened).

One Neo4j start for the module. Through real Celery workers: a backup while a client writes numbered nodes without
pause and another asks every 0.2 s whether Neo4j answers: no request fails, the server is never restarted (same pid),
and the dump, loaded into a side store, holds exactly the writes committed before the snapshot, no gap; a worker
killed (SIGKILL) while the private server recovers the snapshot leaves, after the next worker's recovery, no
subvolume and no server behind. In this process: a private server that cannot start fails the run, the snapshot is
removed and the live store untouched.

The installation is laid out by the dev tools (Maven Central jars), as in test_service_manager.py: the portal sees
only its home, its neo4j.conf and its bin/ scripts.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path

import neo4j
import pytest

from devtools.local_neo4j import Neo4jInstance
from operations.backups import services
from operations.backups.procedures.restore import load_args
from operations.models import Backup
from operations.processes import pid_alive
from operations.runs import engine
from operations.runs import requests as run_requests
from operations.targets import get_target
from operations.targets.local import own_servers
from operations.targets.snapshots import is_btrfs_subvolume

from .conftest import dedicated_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
SLOT = int(os.environ.get("PORTAL_TEST_SLOT", "0") or 0)
BOLT_PORT, HTTP_PORT = 17693 + 100 * SLOT, 17483 + 100 * SLOT
PASSWORD = "p" + "btrfs-snapshots"


def sh(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def unmount(mnt: Path, image: Path) -> None:
    """Unmount (lazily if busy) and detach every loop device of ``image``; never raises."""
    if os.path.ismount(mnt):
        if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
    for line in subprocess.run(["losetup", "-j", str(image)], capture_output=True, text=True).stdout.splitlines():
        subprocess.run(["losetup", "-d", line.split(":", 1)[0]], capture_output=True)


@pytest.fixture(scope="module")
def btrfs_neo4j():
    """A Neo4j 5.26 installation on a loop-mounted btrfs, its data directory a subvolume; started once."""
    from django.conf import settings

    if os.getuid() != 0:
        pytest.fail("this module needs root (loop-mounting a btrfs image); the suite runs as root")
    state = Path(settings.DATA_DIR) / "btrfs-snapshots"
    image, mnt = state / "btrfs.img", state / "mnt"
    unmount(mnt, image)  # an earlier run killed before its teardown
    shutil.rmtree(state, ignore_errors=True)
    mnt.mkdir(parents=True)
    with open(image, "wb") as fh:
        fh.truncate(4 << 30)  # sparse: takes what is written (Neo4j preallocates 256 MiB logs per database)
    sh("mkfs.btrfs", "-q", str(image))
    sh("mount", "-o", "loop", str(image), str(mnt))
    inst = Neo4jInstance(home=mnt / "neo4j", bolt_port=BOLT_PORT, http_port=HTTP_PORT, heap="384m", pagecache="64m")
    try:
        inst.home.mkdir()
        sh("btrfs", "subvolume", "create", str(inst.data_dir))
        inst.init(PASSWORD)
        inst.start()
        yield inst, mnt
    finally:
        try:
            inst.stop()
        finally:
            unmount(mnt, image)
            shutil.rmtree(state, ignore_errors=True)


@pytest.fixture
def snap_target(btrfs_neo4j, settings, tmp_path):
    """The local target pointed at that installation (its own bin/neo4j and pid file), in this process and in the
    environment of the workers the tests start; a queue of its own."""
    inst, mnt = btrfs_neo4j
    queue = f"ops-snap-{os.getpid()}"
    env = {
        "PORTAL_OPERATIONS_TARGET": "local",
        "PORTAL_NEO4J_HOME": str(inst.home),
        "PORTAL_NEO4J_CONF": "",
        "PORTAL_NEO4J_ADMIN": "",
        "PORTAL_NEO4J_START_COMMAND": "",
        "PORTAL_NEO4J_STOP_COMMAND": "",
        "PORTAL_NEO4J_STATUS_COMMAND": "",
        "NEO4J_URL": f"bolt://127.0.0.1:{BOLT_PORT}",
        "NEO4J_USER": "neo4j",
        "NEO4J_PASS": PASSWORD,
        "PORTAL_BACKUP_DIR": str(tmp_path / "backups"),
        "PORTAL_OPERATIONS_QUEUE": queue,
        "PORTAL_OPERATIONS_QUEUES": "",
        "PORTAL_ONLINE_SNAPSHOTS": "auto",
    }
    settings.OPERATIONS_TARGET = "local"
    settings.NEO4J_HOME, settings.NEO4J_CONF_DIR, settings.NEO4J_ADMIN = inst.home, None, []
    settings.NEO4J_START_COMMAND = settings.NEO4J_STOP_COMMAND = settings.NEO4J_STATUS_COMMAND = []
    settings.NEO4J_URL, settings.NEO4J_USER, settings.NEO4J_PASS = env["NEO4J_URL"], "neo4j", PASSWORD
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.BACKUP_DIR.mkdir()
    settings.OPERATIONS_QUEUE, settings.OPERATIONS_QUEUES = queue, {}
    settings.ONLINE_SNAPSHOTS = "auto"
    settings.SNAPSHOT_CREATE_COMMAND = settings.SNAPSHOT_REMOVE_COMMAND = []
    target = get_target("local")
    assert target.data_dir == inst.data_dir and is_btrfs_subvolume(target.data_dir) and target.is_up()
    yield target, mnt, env
    assert not target.snapshot_dir().exists(), f"a test left {target.snapshot_dir()}"


def subvolumes(mnt: Path) -> list[str]:
    return [line.rsplit(" path ", 1)[1] for line in sh("btrfs", "subvolume", "list", str(mnt)).splitlines()]


class Traffic:
    """A client writing (:Seq {n}) nodes one after another (auto-commit), and one asking RETURN 1 every 0.2 s;
    each records what failed."""

    def __init__(self, url: str):
        self.driver = neo4j.GraphDatabase.driver(url, auth=("neo4j", PASSWORD), connection_timeout=5)
        self.writes: list[tuple[int, float, float]] = []  # (n, sent at, committed at)
        self.write_failures: list[str] = []
        self.polls = 0
        self.poll_failures: list[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.write), threading.Thread(target=self.poll)]

    def write(self) -> None:
        n = 0
        while not self.stop.is_set():
            sent = time.time()
            try:
                self.driver.execute_query("CREATE (:Seq {n: $n})", n=n, database_="neo4j")
            except Exception as exc:
                self.write_failures.append(f"{time.time():.1f} {exc}")
                time.sleep(0.1)
                continue
            self.writes.append((n, sent, time.time()))
            n += 1

    def poll(self) -> None:
        while not self.stop.is_set():
            try:
                with self.driver.session(database="neo4j") as session:
                    session.run("RETURN 1").consume()
                self.polls += 1
            except Exception as exc:
                self.poll_failures.append(f"{time.time():.1f} {exc}")
            self.stop.wait(0.2)

    def __enter__(self) -> Traffic:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)
        self.driver.close()


def seq_in_dump(target, backup: Backup, root: Path, monkeypatch) -> tuple[int, int, int]:
    """Load the backup into the side store ``root`` and read (Seq nodes, lowest n, highest n) from a private server
    on it (the target's side-store counting, asked a different question)."""
    incoming = root.parent / "incoming"  # beside the backups directory: the same file system
    incoming.mkdir(parents=True)
    os.link(target.backup_dir / backup.file_name, incoming / f"{target.connection.database}.dump")
    args = [*load_args(target)[:3], f"--from-path={incoming}", "--overwrite-destination=true"]
    result = target.side_admin(root, args)
    assert result.ok, result.output

    try:
        [[row]] = target.side_read(root, ["MATCH (s:Seq) RETURN count(s), min(s.n), max(s.n)"])
        return tuple(row)  # type: ignore[return-value]
    finally:
        target.stop_side(root)
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(incoming, ignore_errors=True)


def test_online_snapshot_backup_under_writes_and_a_worker_killed_while_the_snapshot_recovers(snap_target, monkeypatch):
    target, mnt, env = snap_target
    target.query("MATCH (n) DETACH DELETE n")
    pid = target.pid()
    plan = {s["name"]: s for s in services.preview_backup(target)}
    assert (
        f"data directory {target.data_dir} is a btrfs subvolume: no outage"
        in plan["check the backups directory"]["description"]
    )
    assert "stop Neo4j" not in plan

    with dedicated_worker("snapper", env["PORTAL_OPERATIONS_QUEUE"], env) as worker:
        with Traffic(target.connection.url) as traffic:
            time.sleep(1.0)  # writes under way before the backup
            run = wait_for(services.request_backup(label="test", target=target), timeout=300)
            time.sleep(0.5)
        assert run.status == "succeeded", run.error
        assert run.params["procedure"] == "online-snapshot"
        # Nobody saw Neo4j unavailable, and it is the same server process throughout.
        assert traffic.poll_failures == [] and traffic.write_failures == []
        assert traffic.polls > 10 and len(traffic.writes) > 50
        assert target.pid() == pid and "outage_started" not in run.state
        steps = {s.name: s for s in run.steps.all()}
        assert "stop Neo4j" not in steps and steps["remove the snapshot"].status == "ok"
        backup = Backup.objects.get()
        assert backup.procedure == "online-snapshot"
        assert subvolumes(mnt) == ["neo4j/data"] and not target.snapshot_dir().exists()

        # The dump holds exactly the writes committed before the snapshot: all those acknowledged before the step
        # began, none sent after it ended, and no gap.
        snap = steps["snapshot the live data directory"]
        began, ended = snap.started_at.timestamp(), snap.finished_at.timestamp()
        before = max(n for n, _, committed in traffic.writes if committed < began)
        after = min(n for n, sent, _ in traffic.writes if sent > ended)
        count, low, high = seq_in_dump(target, backup, target.backup_dir.parent / "restored", monkeypatch)
        assert low == 0 and count == high + 1, (count, low, high)
        assert before <= high < after, (before, high, after)
        assert (backup.node_count, backup.relationship_count) == (count, 0)
        print(
            f"snapshot {snap.finished_at - snap.started_at}; recovery {run.state['recovery_seconds']} s; backup "
            f"{run.finished_at - run.started_at}; {len(traffic.writes)} writes, {traffic.polls} polls, 0 failures"
        )

        # A worker killed while the private server recovers the snapshot: that server and the subvolume are left.
        run = wait_for(services.request_backup(label="test", target=target), until="step:recover the snapshot")
        console = target.snapshot_dir() / "run" / "console.pid"
        deadline = time.monotonic() + 60
        while not console.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        side_pid = int(console.read_text())
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    assert pid_alive(side_pid) and subvolumes(mnt) == ["neo4j/data", "neo4j/data/portal-snapshot/data"]

    with dedicated_worker("rescuer", env["PORTAL_OPERATIONS_QUEUE"], env):
        run = wait_for(run, timeout=300)
    assert run.status == "interrupted" and "(recover the snapshot)" in run.error
    assert "stopped" in run.error  # the private server (it carries the side store's admin marker)
    assert f"deleted the btrfs subvolume {target.snapshot_dir() / 'data'}" in run.error
    assert not pid_alive(side_pid) and subvolumes(mnt) == ["neo4j/data"]
    assert not target.snapshot_dir().exists() and target.pid() == pid and Backup.objects.count() == 1


def test_a_private_server_that_cannot_start_fails_the_backup_and_leaves_no_snapshot(snap_target, monkeypatch):
    target, mnt, _ = snap_target
    monkeypatch.setattr(run_requests, "enqueue", lambda run: None)  # carried out here
    pid = target.pid()
    target.query("CREATE (:Before)")
    live = target.counts()
    # The private server is given a port another socket holds (bound, not listening: connecting is refused at once):
    # it cannot bind it and exits during start-up. (Not the live server's port: its attempts to count would knock
    # there with the wrong password.)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        monkeypatch.setattr(own_servers, "free_loopback_port", lambda: taken.getsockname()[1])
        started = datetime.now()
        run = engine.execute(services.request_backup(label="test", target=target).pk)
    assert run.status == "failed"
    assert "the server on the snapshot did not recover it" in run.error and "exited during start-up" in run.error
    assert "The live Neo4j was not stopped or changed" in run.error
    statuses = {s.name: s.status for s in run.steps.all()}
    assert (statuses["recover the snapshot"], statuses["dump the snapshot"], statuses["remove the snapshot"]) == (
        "failed",
        "skipped",
        "ok",
    )
    assert subvolumes(mnt) == ["neo4j/data"] and not target.snapshot_dir().exists()
    assert target.pid() == pid and target.counts() == live and Backup.objects.count() == 0
    assert not list(target.backup_dir.iterdir())
    print(f"failed backup cleaned up in {datetime.now() - started}")
