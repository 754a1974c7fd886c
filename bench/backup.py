#!/usr/bin/env python3
"""Backup and restore on a store of over a million nodes and relationships: the portal against bare neo4j-admin.

    .venv/bin/python bench/backup.py [--nodes N] [--keep]

Runs in its own instance (``.run/bench-<slot>/``, ports 27687/27474/26379 + 100 * PORTAL_TEST_SLOT), never the test
or dev one: its own Neo4j (filled once with ``neo4j-admin database import``), Redis, SQLite database and Celery
worker. Prints, from one run:

- the bare ``neo4j-admin database dump`` time (Neo4j already stopped) and a bare stop + start (one restart);
- the portal's backup, requested to finished (through the worker), and its ratio to the bare dump and to
  bare dump + one restart;
- how long Neo4j was unavailable during the portal's backup, seen by a client polling Bolt every 0.2 s;
- the portal's restore of that backup, requested to finished, and the unavailability during it.

With ``--targets local,docker`` (the default) the same figures follow for the Docker target: a Neo4j container made
as docker-compose makes alchemiscale's (``tests/docker_fixtures.py``) on a copy of the same store, Bolt on the
bench's port + 50, on the private engine of ``scripts/docker_engine.py`` with the image of ``scripts/neo4j_image.py``.
"""

from __future__ import annotations

import argparse
import csv
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.local_neo4j import Neo4jInstance, port_in_use  # noqa: E402
from tests.docker_fixtures import remove_deployment  # noqa: E402

SLOT = int(os.environ.get("PORTAL_TEST_SLOT", "0") or 0)
STATE = ROOT / ".run" / f"bench-{SLOT}"
BOLT, HTTP, REDIS = 27687 + 100 * SLOT, 27474 + 100 * SLOT, 26379 + 100 * SLOT


def build_store(inst: Neo4jInstance, nodes: int) -> None:
    """Fill the database once with neo4j-admin import: ``nodes`` nodes and as many relationships."""
    marker = inst.home / f"imported-{nodes}"
    if marker.exists():
        return
    inst.stop()
    csv_dir = STATE / "import"
    csv_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    with open(csv_dir / "nodes.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["key:ID", "identifier", "_org", "_campaign", "_project", "weight:double", ":LABEL"])
        for i in range(nodes):
            label = "CredentialedEntity;CredentialedUserIdentity" if i % 10 == 0 else "GufeTokenizable;Transformation"
            w.writerow([f"k{i}", f"id-{i}", "org", f"c{i % 7}", f"p{i % 101}", i * 0.25, label])
    with open(csv_dir / "rels.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([":START_ID", ":END_ID", ":TYPE", "since:int"])
        for i in range(nodes):
            w.writerow([f"k{i}", f"k{(i * 7919 + 1) % nodes}", "DEPENDS_ON" if i % 3 else "OWNS", i])
    print(
        f"generated CSV for {nodes} nodes and {nodes} relationships in {time.monotonic() - t0:.1f} s", file=sys.stderr
    )
    proc = inst.admin(
        [
            "database",
            "import",
            "full",
            "neo4j",
            f"--nodes={csv_dir / 'nodes.csv'}",
            f"--relationships={csv_dir / 'rels.csv'}",
            "--overwrite-destination",
        ]
    )
    if proc.returncode != 0:
        raise SystemExit(f"import failed:\n{proc.stdout}{proc.stderr}")
    shutil.rmtree(csv_dir)
    marker.write_text("")


def start_redis() -> subprocess.Popen:
    if port_in_use(REDIS):
        raise SystemExit(f"port {REDIS} is in use; another bench running?")
    proc = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(REDIS), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while not port_in_use(REDIS):
        time.sleep(0.1)
    return proc


class Probe(threading.Thread):
    """A client asking Neo4j ``RETURN 1`` every 0.2 s; records the longest stretch without an answer."""

    def __init__(self, target):
        super().__init__(daemon=True)
        self.target = target
        self.stop_flag = threading.Event()
        self.longest = 0.0
        self.down_since: float | None = None

    def run(self) -> None:
        while not self.stop_flag.is_set():
            try:
                self.target.query("RETURN 1")
                up = True
            except Exception:
                up = False
            now = time.monotonic()
            if not up and self.down_since is None:
                self.down_since = now
            if up and self.down_since is not None:
                self.longest = max(self.longest, now - self.down_since)
                self.down_since = None
            time.sleep(0.2)

    def finish(self) -> float:
        self.stop_flag.set()
        self.join()
        return self.longest


def measured(target, request) -> tuple:
    """Request a run, wait for it with a Bolt probe going: (run, requested-to-finished s, unavailable s, steps)."""
    probe = Probe(target)
    probe.start()
    run = request()
    while not run.is_terminal:
        time.sleep(0.2)
        run.refresh_from_db()
    down = probe.finish()
    if run.status != "succeeded":
        raise SystemExit(f"portal {run.kind} {run.status}: {run.error}")
    steps = {
        s.name: (s.finished_at - s.started_at).total_seconds()
        for s in run.steps.all()
        if s.finished_at and s.started_at
    }
    return run, (run.finished_at - run.requested_at).total_seconds(), down, steps


def docker_deployment(inst: Neo4jInstance, password: str):
    """The bench store, copied (Neo4j stopped), in a Neo4j container made as docker-compose makes alchemiscale's."""
    from tests.docker_fixtures import DATA_GID, DATA_UID, IMAGE, create_compose_neo4j, docker_client

    client = docker_client()
    remove_deployment(client, f"bench-{SLOT}")
    inst.stop()
    data = STATE / "docker-data"
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(inst.data_dir, data, symlinks=True)
    for root, dirs, files in os.walk(data):
        for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
            os.lchown(name, DATA_UID, DATA_GID)
    create_compose_neo4j(
        client,
        project=f"bench-{SLOT}",
        service="neo4j",
        image=IMAGE,
        data_dir=data,
        password=password,
        bolt_port=BOLT + 50,
        http_port=BOLT + 51,
        heap="1g",
        pagecache="512m",
    )
    return client


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=600_000, help="nodes, and as many relationships")
    parser.add_argument("--keep", action="store_true", help="leave the bench instance's data for another run")
    parser.add_argument("--targets", default="local,docker", help="comma-separated: local, docker")
    args = parser.parse_args(argv)
    targets = [t for t in args.targets.split(",") if t]

    STATE.mkdir(parents=True, exist_ok=True)
    password_file = STATE / "neo4j-password"
    if not password_file.exists():
        password_file.write_text(secrets.token_urlsafe(18))
    password = password_file.read_text().strip()
    inst = Neo4jInstance(home=STATE / "neo4j", bolt_port=BOLT, http_port=HTTP, heap="1g", pagecache="512m")
    inst.init(password)
    build_store(inst, args.nodes)

    env = {
        "NEO4J_URL": f"bolt://127.0.0.1:{BOLT}",
        "NEO4J_USER": "neo4j",
        "NEO4J_PASS": password,
        "NEO4J_DBNAME": "neo4j",
        "REDIS_URL": f"redis://127.0.0.1:{REDIS}/0",
        "PORTAL_NEO4J_HOME": str(inst.home),
        "PORTAL_BACKUP_DIR": str(STATE / "backups"),
        "PORTAL_DATA_DIR": str(STATE),
        "DATABASE_URL": f"sqlite:///{STATE / 'portal.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "alchemiscale_portal.settings",
        # The Docker target's bench deployment (only used with --targets ...docker).
        "PORTAL_DOCKER_PROJECT": f"bench-{SLOT}",
        "PORTAL_DOCKER_NEO4J_URL": f"bolt://127.0.0.1:{BOLT + 50}",
    }
    if "docker" in targets:
        sys.path.insert(0, str(ROOT / "scripts"))
        import docker_engine
        import neo4j_image

        env["DOCKER_HOST"] = docker_engine.docker_host()
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "docker_engine.py"), "up", "--user", str(os.getpid())],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        os.environ["DOCKER_HOST"] = env["DOCKER_HOST"]
        neo4j_image.build()
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    from alchemiscale_portal.celery import app
    from operations import services
    from operations.procedures.dumps import dump_args, in_progress_dir
    from operations.targets import get_target

    def figures(target) -> None:
        target.wait_for_bolt()
        nodes, rels = target.counts()
        print(
            f"store: {nodes} nodes + {rels} relationships = {nodes + rels}; "
            f"{sum(f.stat().st_size for f in target.database_dirs()[0].rglob('*') if f.is_file()) / 2**20:.0f} MiB"
        )

        # Warm-up: the first stop after an import or a fresh start is slower (checkpointing); neither side pays it.
        target.stop()
        target.start()
        # Bare: what a person at a shell does, timed piece by piece.
        t0 = time.monotonic()
        target.stop()
        t_stop = time.monotonic() - t0
        shutil.rmtree(in_progress_dir(target), ignore_errors=True)
        in_progress_dir(target).mkdir(parents=True)
        target.fix_ownership([in_progress_dir(target)])  # neo4j-admin writes there as the data owner
        t0 = time.monotonic()
        result = target.admin(dump_args(target))
        t_dump = time.monotonic() - t0
        if not result.ok:
            raise SystemExit(f"bare dump failed:\n{result.output}")
        dump_size = (in_progress_dir(target) / "neo4j.dump").stat().st_size
        shutil.rmtree(in_progress_dir(target))
        t0 = time.monotonic()
        target.start()
        t_start = time.monotonic() - t0
        bare_with_restart = t_stop + t_dump + t_start

        run, t_backup, backup_down, steps = measured(
            target, lambda: services.request_backup(label="bench", target=target)
        )
        backup = run.backups_made.get()
        restore, t_restore, restore_down, rsteps = measured(
            target, lambda: services.request_restore(backup, "neo4j", label="bench", target=target)
        )

        print(f"bare neo4j-admin database dump:          {t_dump:7.1f} s  ({dump_size / 2**20:.0f} MiB dump)")
        print(
            f"bare stop + start (one restart):         {t_stop + t_start:7.1f} s  (stop {t_stop:.1f}, "
            f"start to Bolt {t_start:.1f})"
        )
        print(f"bare stop + dump + start (offline time): {bare_with_restart:7.1f} s")
        print(
            f"portal backup, requested to finished:    {t_backup:7.1f} s  (steps: "
            + ", ".join(f"{k} {v:.1f}" for k, v in steps.items())
            + ")"
        )
        print(f"ratio portal backup / bare dump:         {t_backup / t_dump:7.2f}")
        print(f"ratio portal backup / (bare dump + one restart): {t_backup / bare_with_restart:.2f}")
        offline = steps["stop Neo4j"] + steps["dump"] + steps["start Neo4j"]
        print(
            f"portal's own work beyond stop+dump+start (queue, checks, counts, naming, checksum, catalog): "
            f"{t_backup - offline:.1f} s"
        )
        print(f"Neo4j unavailable during the backup:     {backup_down:7.1f} s  (client polling Bolt)")
        print(
            f"portal restore, requested to finished:   {t_restore:7.1f} s  (steps: "
            + ", ".join(f"{k} {v:.1f}" for k, v in rsteps.items())
            + ")"
        )
        print(f"Neo4j unavailable during the restore:    {restore_down:7.1f} s")

    call_command("migrate", verbosity=0)
    redis = start_redis()
    worker = docker_client = None
    try:
        inst.start()
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "alchemiscale_portal",
                "worker",
                "-l",
                "warning",
                "--concurrency",
                "1",
                "-n",
                f"bench-{os.getpid()}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            stdout=open(STATE / "worker.log", "ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        while not app.control.ping(timeout=0.5):
            time.sleep(0.5)
        for name in targets:
            if name == "docker":
                docker_client = docker_deployment(inst, password)
            target = get_target(name)
            print(f"--- target {name}: {target.describe()}")
            figures(target)
            if name == "docker":
                target.stop()
        return 0
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(60)
        inst.stop()
        if docker_client is not None:
            remove_deployment(docker_client, f"bench-{SLOT}")
        if "docker" in targets:
            subprocess.run(
                [sys.executable, str(ROOT / "scripts" / "docker_engine.py"), "down", "--user", str(os.getpid())],
                check=False,
            )
        redis.terminate()
        redis.wait()
        for f in (STATE / "backups").glob("neo4j-*.dump"):
            f.unlink()
        if not args.keep:
            shutil.rmtree(STATE, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
