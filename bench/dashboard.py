#!/usr/bin/env python3
"""Bench: the dashboard and /metrics with 100,000 user identities and 10,000 operation runs.

    PORTAL_TEST_SLOT=N .venv/bin/python bench/dashboard.py [--identities 100000] [--runs 10000] [--repeat 7]

Runs on the test slot's own Neo4j and Redis (never the dev or a production store) and a bench SQLite file. Seeds the
identities as bench/identities.py does, and runs as the runner leaves them (backups with their steps and catalog rows,
restores and migrations, every outcome) spread over two years; then times the dashboard page and a /metrics scrape
through Django's test client: the first (cold) request, the median of the repeats after it, and each figure on its
own. Removes what it seeded and stops the services at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.identities import remove_seeded, services, start_slot
from bench.identities import seed as seed_identities  # noqa: E402

TOKEN = "bench-metrics-token-0123456789"

OUTCOMES = ["succeeded"] * 85 + ["failed"] * 8 + ["errored"] * 2 + ["interrupted"] * 2 + ["cancelled"] * 3
BACKUP_STEPS = [
    "check the backups directory",
    "record the current state",
    "stop Neo4j",
    "dump",
    "start Neo4j",
    "name the backup",
    "checksum and catalog",
]


def seed_runs(count: int) -> float:
    from operations.models import Backup, OperationRun, OperationStep

    rng = random.Random(11)
    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    runs = []
    for i in range(count):
        at = now - dt.timedelta(minutes=(count - i) * 105)  # about two years
        kind = rng.choices(["backup", "restore", "store-migration"], [90, 8, 2])[0]
        status = rng.choice(OUTCOMES)
        seconds = rng.uniform(40, 400)
        runs.append(
            OperationRun(
                kind=kind,
                target="bench",
                status=status,
                requested_by_label="bench",
                requested_at=at,
                started_at=at if status != "cancelled" else None,
                finished_at=at + dt.timedelta(seconds=seconds),
                state={"stopped": True},
            )
        )
    OperationRun.objects.bulk_create(runs, batch_size=2000)
    runs = list(OperationRun.objects.filter(target="bench").order_by("pk"))
    steps, backups = [], []
    for run in runs:
        if run.kind != "backup" or run.status != "succeeded":
            continue
        t = run.started_at
        for position, name in enumerate(BACKUP_STEPS, 1):
            length = {"dump": 0.6, "stop Neo4j": 0.05, "start Neo4j": 0.2}.get(name, 0.01) * (
                run.finished_at - run.started_at
            ).total_seconds()
            steps.append(
                OperationStep(
                    run=run,
                    position=position,
                    name=name,
                    status="ok",
                    started_at=t,
                    finished_at=t + dt.timedelta(seconds=length),
                )
            )
            t += dt.timedelta(seconds=length)
        backups.append(
            Backup(
                file_name=f"neo4j-{run.finished_at:%Y%m%d-%H%M%S}-{run.pk % 10000}.dump",
                target="bench",
                database="neo4j",
                size=rng.randint(10, 900) * 1024 * 1024,
                sha256="0" * 64,
                neo4j_version="5.26.12",
                made_by_run=run,
                created_at=run.finished_at,
                requested_by_label="bench",
            )
        )
    OperationStep.objects.bulk_create(steps, batch_size=5000)
    Backup.objects.bulk_create(backups, batch_size=2000)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--identities", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    if not start_slot("bench-dashboard.sqlite3", PORTAL_METRICS_TOKEN=TOKEN):
        return 2
    try:
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.cache import cache
        from django.core.management import call_command
        from django.test import Client

        from operations.glance import figures
        from operations.models import OperationRun
        from tests.conftest import create_alchemiscale_constraints

        call_command("migrate", verbosity=0)
        OperationRun.objects.filter(target="bench").delete()
        remove_seeded()
        create_alchemiscale_constraints()
        print(f"seeded {args.identities} user identities in {seed_identities(args.identities):.1f} s")
        print(f"seeded {args.runs} runs (with steps and backups) in {seed_runs(args.runs):.1f} s")
        user = get_user_model().objects.filter(username="bench").first() or get_user_model().objects.create_superuser(
            "bench", "bench@example.org", "bench-password-unused"
        )
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

        def timed(fn) -> float:
            started = time.perf_counter()
            fn()
            return (time.perf_counter() - started) * 1000

        def page() -> None:
            assert client.get("/admin/dashboard/").status_code == 200

        def scrape() -> None:
            response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
            assert response.status_code == 200

        parts = {
            "backup_timeline": figures.backup_timeline,
            "runs_per_week": figures.runs_per_week,
            "runs_by_kind_and_status": figures.runs_by_kind_and_status,
            "last_finished_runs": figures.last_finished_runs,
            "identity_counts": figures.identity_counts,
            "identities_reaching_orgs (data scopes cached)": figures.identities_reaching_orgs,
            "identities_reaching_orgs (data scopes fresh)": lambda: (cache.clear(), figures.identities_reaching_orgs()),
            "alive_workers (1 s timeout, roll call)": figures.alive_workers,
        }
        cold = {"dashboard page": timed(page), "/metrics scrape": timed(scrape)}
        warm = {name: [] for name in cold}
        for _ in range(args.repeat):
            warm["dashboard page"].append(timed(page))
            warm["/metrics scrape"].append(timed(scrape))
        part_times = {name: statistics.median(timed(fn) for _ in range(args.repeat)) for name, fn in parts.items()}
        print(f"{'request':40} {'cold ms':>8} {'median ms':>10} {'max ms':>8}")
        for name in cold:
            print(f"{name:40} {cold[name]:8.0f} {statistics.median(warm[name]):10.0f} {max(warm[name]):8.0f}")
        print(f"{'figure (median)':52} {'ms':>6}")
        for name, ms in part_times.items():
            print(f"{name:52} {ms:6.0f}")
        print(f"load average after: {os.getloadavg()[0]:.1f}")
        OperationRun.objects.filter(target="bench").delete()
        remove_seeded()
    finally:
        services("down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
