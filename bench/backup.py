#!/usr/bin/env python3
"""Outages of backup and restore: the portal's procedures against the bare ones, over store sizes and targets.

    .venv/bin/python bench/backup.py [--sizes 0.3M,1.2M,3M] [--targets local,docker] [--repeat N] [--keep] [--btrfs]

Runs in its own instance (``.run/bench-<slot>/``, ports 27687/27474/26379 + 100 * PORTAL_TEST_SLOT), never the test
or dev one: its own Neo4j (filled per size with ``neo4j-admin database import``: half the size in nodes, half in
relationships), Redis, SQLite database and Celery worker. For each size and target it prints, measured by a client
asking Bolt ``RETURN 1`` every 0.2 s (the longest stretch without an answer) and by the clock (total):

- the bare backup: stop, ``neo4j-admin database dump``, start, as a person at a shell does it;
- the portal's backup, requested to finished through the worker (checkpoint, stop, snapshot, start, dump after);
- the bare restore: stop, ``neo4j-admin database load --overwrite-destination``, start;
- the portal's restore of its backup (staged load and check while Neo4j serves, stop, swap, start, safety dump after);
- a bare stop + start (one restart), what the portal's outage cannot go below;

then the ratios the procedures aim at (docs/outage.md). Neo4j's start varies with the machine's load by more than a
dump takes at these sizes: ``--repeat N`` measures every procedure N times, interleaved, and takes medians.

``--btrfs`` (root only): the bench instance lives on a loop-mounted btrfs image (``.run/bench-<slot>/btrfs.img``,
sparse), its data directory a subvolume, so the portal's backup on the local target is the online snapshot
(docs/snapshot-backups.md: expected outage 0 s); a short-outage backup of the same store (``PORTAL_ONLINE_SNAPSHOTS``
off for that request) is measured beside it. On the Docker target the store is copied into a Neo4j
container made as docker-compose makes alchemiscale's (``tests/docker_fixtures.py``), Bolt on the bench's port + 50,
on the private engine of ``scripts/docker_engine.py`` with the image of ``scripts/neo4j_image.py``.
"""

from __future__ import annotations

import argparse
import csv
import os
import secrets
import shutil
import signal
import statistics
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


def mount_btrfs(image: Path, mnt: Path) -> None:
    """A sparse btrfs image loop-mounted at ``mnt`` (made on first use; kept with --keep)."""
    unmount_btrfs(image, mnt)
    if not image.exists():
        with open(image, "wb") as fh:
            fh.truncate(64 << 30)  # sparse: takes what is written
        subprocess.run(["mkfs.btrfs", "-q", str(image)], check=True)
    mnt.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-o", "loop", str(image), str(mnt)], check=True)


def unmount_btrfs(image: Path, mnt: Path) -> None:
    if os.path.ismount(mnt):
        subprocess.run(["umount", str(mnt)], check=False)
    found = subprocess.run(["losetup", "-j", str(image)], capture_output=True, text=True).stdout.splitlines()
    for line in found:
        subprocess.run(["losetup", "-d", line.split(":", 1)[0]], check=False)


def build_store(inst: Neo4jInstance, nodes: int) -> None:
    """Fill the database once with neo4j-admin import: ``nodes`` nodes and as many relationships."""
    marker = inst.home / "imported"
    if marker.exists() and marker.read_text() == str(nodes):
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
    marker.write_text(str(nodes))


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


def probed(target, work) -> tuple[float, float, dict]:
    """Run ``work(times)`` with a Bolt probe going: (total s, unavailable s, the times it recorded)."""
    probe = Probe(target)
    probe.start()
    time.sleep(0.5)  # the probe's first answer
    times: dict[str, float] = {}
    t0 = time.monotonic()
    work(times)
    total = time.monotonic() - t0
    time.sleep(0.3)
    return total, probe.finish(), times


def timed(times: dict, name: str, fn) -> None:
    t0 = time.monotonic()
    fn()
    times[name] = time.monotonic() - t0


def median_row(rounds: list[dict]) -> dict:
    """One row of figures from several rounds of the same size and target: the median of each measured figure."""
    return {
        key: statistics.median(r[key] for r in rounds) if isinstance(value, float) else value
        for key, value in rounds[0].items()
    }


def print_ratios(row: dict) -> None:
    print(
        f"  ratios: backup outage / bare {row['backup'] / row['bare_backup']:.2f} (aim <= 0.6); restore outage / "
        f"bare {row['restore'] / row['bare_restore']:.2f} (aim <= 0.8); backup total / bare "
        f"{row['backup_total'] / row['bare_backup_total']:.2f} (aim <= 1.15)",
        flush=True,
    )


def parse_size(text: str) -> int:
    """'0.3M' -> 300000, '50k' -> 50000, '1200' -> 1200 (nodes + relationships)."""
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


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
    parser.add_argument(
        "--sizes", default="0.3M,1.2M,3M", help="store sizes, nodes + relationships, comma-separated (e.g. 50k,0.3M)"
    )
    parser.add_argument("--keep", action="store_true", help="leave the bench instance's data for another run")
    parser.add_argument("--targets", default="local,docker", help="comma-separated: local, docker")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds per size and target (each round measures every procedure once); the summary takes medians",
    )
    parser.add_argument(
        "--btrfs",
        action="store_true",
        help="the instance's data directory a subvolume on a loop-mounted btrfs (root): the online-snapshot backup",
    )
    args = parser.parse_args(argv)
    targets = [t for t in args.targets.split(",") if t]
    sizes = [parse_size(x) for x in args.sizes.split(",") if x.strip()]

    STATE.mkdir(parents=True, exist_ok=True)
    password_file = STATE / "neo4j-password"
    if not password_file.exists():
        password_file.write_text("p" + secrets.token_urlsafe(18))  # never "-...": an option to neo4j-admin
    password = password_file.read_text().strip()
    home = STATE / "neo4j"
    if args.btrfs:
        if os.getuid() != 0:
            raise SystemExit("--btrfs needs root (it loop-mounts a btrfs image)")
        mount_btrfs(STATE / "btrfs.img", STATE / "btrfs")
        home = STATE / "btrfs" / "neo4j"
        home.mkdir(exist_ok=True)
        if not (home / "data").exists():
            subprocess.run(["btrfs", "subvolume", "create", str(home / "data")], check=True, stdout=subprocess.DEVNULL)
    inst = Neo4jInstance(home=home, bolt_port=BOLT, http_port=HTTP, heap="1g", pagecache="512m")
    inst.init(password)

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
    from django.conf import settings
    from django.core.management import call_command

    from alchemiscale_portal.celery import app
    from operations.backups import services  # after django.setup(): the services import the models
    from operations.backups.procedures.dumps import dump_args, in_progress_dir
    from operations.backups.procedures.restore import load_args
    from operations.models import Backup
    from operations.targets import get_target

    results: list[dict] = []

    def figures(target, size: int) -> dict:
        target.wait_for_bolt()
        nodes, rels = target.counts()
        store_mib = sum(f.stat().st_size for f in target.database_dirs()[0].rglob("*") if f.is_file()) / 2**20
        print(f"store: {nodes} nodes + {rels} relationships = {nodes + rels}; {store_mib:.0f} MiB", flush=True)
        work = in_progress_dir(target)

        # Warm-up: the first stop after an import or a fresh start is slower (checkpointing); neither side pays it.
        target.stop()
        target.start()

        def restart(times):
            timed(times, "stop", target.stop)
            timed(times, "start", target.start)

        restart_total, restart_down, restart_times = probed(target, restart)

        def bare_backup(times):
            timed(times, "stop", target.stop)
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            target.fix_ownership([work])  # neo4j-admin writes there as the data owner
            t0 = time.monotonic()
            result = target.admin(dump_args(target))
            times["dump"] = time.monotonic() - t0
            if not result.ok:
                raise SystemExit(f"bare dump failed:\n{result.output}")
            timed(times, "start", target.start)

        bare_b_total, bare_b_down, bare_b = probed(target, bare_backup)
        dump_size = (work / "neo4j.dump").stat().st_size

        def bare_restore(times):
            timed(times, "stop", target.stop)
            t0 = time.monotonic()
            result = target.admin([*load_args(target), "--overwrite-destination=true"])
            times["load"] = time.monotonic() - t0
            if not result.ok:
                raise SystemExit(f"bare load failed:\n{result.output}")
            target.fix_ownership(target.database_dirs())
            timed(times, "start", target.start)

        bare_r_total, bare_r_down, bare_r = probed(target, bare_restore)
        shutil.rmtree(work)

        run, t_backup, backup_down, steps = measured(
            target, lambda: services.request_backup(label="bench", target=target)
        )
        backup = run.backups_made.get()
        short = None
        if backup.procedure == "online-snapshot":
            # The same store backed up the other way, for comparison: the short outage.
            settings.ONLINE_SNAPSHOTS = "off"
            try:
                _, t_short, short_down, short_steps = measured(
                    target, lambda: services.request_backup(label="bench", target=target)
                )
            finally:
                settings.ONLINE_SNAPSHOTS = "auto"
            short = (t_short, short_down, short_steps)
        restore, t_restore, restore_down, rsteps = measured(
            target, lambda: services.request_restore(backup, "neo4j", label="bench", target=target)
        )
        for b in Backup.objects.all():
            (target.backup_dir / b.file_name).unlink(missing_ok=True)
            if b.portal_db_file:
                (target.backup_dir / b.portal_db_file).unlink(missing_ok=True)
        Backup.objects.all().delete()

        def show(label, total, down, parts):
            print(
                f"  {label:<34} outage {down:6.1f} s   total {total:6.1f} s   ("
                + ", ".join(f"{k} {v:.1f}" for k, v in parts.items())
                + ")",
                flush=True,
            )

        print(f"  dump {dump_size / 2**20:.0f} MiB")
        show("one restart (stop + start)", restart_total, restart_down, restart_times)
        show("bare backup (stop, dump, start)", bare_b_total, bare_b_down, bare_b)
        show(f"portal backup ({backup.procedure})", t_backup, backup_down, steps)
        if short is not None:
            show("portal backup (short-outage)", *short)
        show("bare restore (stop, load, start)", bare_r_total, bare_r_down, bare_r)
        show("portal restore", t_restore, restore_down, rsteps)
        row = {
            "target": target.name,
            "size": nodes + rels,
            "restart": restart_down,
            "bare_backup": bare_b_down,
            "backup": backup_down,
            "procedure": backup.procedure,
            "bare_restore": bare_r_down,
            "restore": restore_down,
            "bare_backup_total": bare_b_total,
            "backup_total": t_backup,
            "restore_total": t_restore,
            "bare_restore_total": bare_r_total,
        }
        print_ratios(row)
        return row

    call_command("migrate", verbosity=0)
    redis = start_redis()
    worker = docker_client = None
    try:
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
        for size in sizes:
            build_store(inst, size // 2)
            inst.start()
            for name in targets:
                if name == "docker":
                    docker_client = docker_deployment(inst, password)
                target = get_target(name)
                print(f"--- size {size}, target {name}: {target.describe()}", flush=True)
                rounds = [figures(target, size) for _ in range(args.repeat)]
                results.append(median_row(rounds))
                if len(rounds) > 1:
                    print(f"  median of {len(rounds)} rounds:", flush=True)
                    print_ratios(results[-1])
                if name == "docker":
                    target.stop()
                    inst.start()
            inst.stop()
        print("--- summary: outage (s) seen by a Bolt client polling every 0.2 s")
        print(
            f"{'target':<8}{'size':>10}{'restart':>9}{'bare bk':>9}{'backup':>8}{'bk total':>9}{'bare rs':>9}"
            f"{'restore':>9}{'bk/bare':>8}{'rs/bare':>8}{'tot/bare':>9}  backup procedure"
        )
        for r in results:
            print(
                f"{r['target']:<8}{r['size']:>10}{r['restart']:>9.1f}{r['bare_backup']:>9.1f}{r['backup']:>8.1f}"
                f"{r['backup_total']:>9.1f}{r['bare_restore']:>9.1f}{r['restore']:>9.1f}"
                f"{r['backup'] / r['bare_backup']:>8.2f}{r['restore'] / r['bare_restore']:>8.2f}"
                f"{r['backup_total'] / r['bare_backup_total']:>9.2f}  {r['procedure']}"
            )
        for name in targets:
            mine = [r for r in results if r["target"] == name]
            if len(mine) > 1:
                first, last = mine[0], mine[-1]
                print(
                    f"{name}: outage growth from {first['size']} to {last['size']}: backup "
                    + (
                        f"{(last['backup'] / first['backup'] - 1) * 100:+.0f} %"
                        if first["backup"]
                        else f"{first['backup']:.1f} s to {last['backup']:.1f} s"
                    )
                    + ", restore "
                    f"{(last['restore'] / first['restore'] - 1) * 100:+.0f} % (aim < 10 %)"
                )
        return 0
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(60)
        inst.stop()
        if args.btrfs:
            unmount_btrfs(STATE / "btrfs.img", STATE / "btrfs")
        if docker_client is not None:
            remove_deployment(docker_client, f"bench-{SLOT}")
        if "docker" in targets:
            subprocess.run(
                [sys.executable, str(ROOT / "scripts" / "docker_engine.py"), "down", "--user", str(os.getpid())],
                check=False,
            )
        redis.terminate()
        redis.wait()
        for f in (STATE / "backups").glob("neo4j-*"):
            f.unlink()
        if not args.keep:
            shutil.rmtree(STATE, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
