#!/usr/bin/env python3
"""Request latency of "Back up now" and of the runs list with 10,000 runs, on PostgreSQL (docs/postgresql.md).

    PORTAL_TEST_SLOT=N .venv/bin/python bench/runs_latency.py [--runs 10000] [--repeat 20]

Starts what it needs in slot N's test profile (scripts/services.py: Neo4j and Redis; scripts/postgres.py: a
PostgreSQL 15 with a database ``bench``) and stops it afterwards, so run it when no test suite uses that slot. It
migrates ``bench`` from scratch, fills it with ``--runs`` finished runs (five steps each), and times, through
Django's test client logged in as a superuser (the whole request: middleware, admin, templates, queries):

- GET of the runs list (first page, 100 rows, and the count the admin shows);
- GET of "Back up now" (the preview of the steps and commands);
- POST of "Back up now", i.e. recording a pending run; its message goes to a queue of the bench's own that no
  worker consumes, and each run is cancelled before the next request. The POST then also asks the broker which
  workers consume the queue (``warn_if_no_worker``), which waits its full 1 s timeout; the figure for
  ``services.request_backup`` alone is printed beside it.

Prints the median and the slowest of ``--repeat`` requests of each, in milliseconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from operations.backups import services
from operations.runs import requests as run_requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def env_of(*command: str) -> dict[str, str]:
    out = subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line and not line.startswith("#"))


def timed(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def show(name: str, times: list[float]) -> None:
    print(f"{name:<48} median {statistics.median(times):8.1f} ms   max {max(times):8.1f} ms   (n={len(times)})")


def bench(runs: int, repeat: int) -> None:
    import django
    from django.core.management import call_command

    django.setup()
    import redis
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from operations.models import OperationRun, OperationStep, RunLogLine

    assert connection.vendor == "postgresql" and settings.DATABASES["default"]["NAME"] == "bench"
    call_command("flush", "--noinput", verbosity=0)
    call_command("migrate", "--noinput", verbosity=0)
    user = get_user_model().objects.create_superuser("bench", "bench@example.org", "bench-password-1")

    start = time.perf_counter()
    now = timezone.now()
    batch = 2000
    for first in range(0, runs, batch):
        rows = [
            OperationRun(
                kind="backup" if i % 4 else "restore",
                target="local",
                target_description="bench",
                requested_by=user,
                requested_by_label="bench",
                status="succeeded" if i % 9 else "failed",
                requested_at=now - dt.timedelta(minutes=i),
                queue=settings.OPERATIONS_QUEUE,
                started_at=now - dt.timedelta(minutes=i),
                finished_at=now - dt.timedelta(minutes=i) + dt.timedelta(seconds=30),
            )
            for i in range(first, min(first + batch, runs))
        ]
        made = OperationRun.objects.bulk_create(rows)
        RunLogLine.objects.bulk_create([RunLogLine(run=run, at=now, message="bench") for run in made])
        OperationStep.objects.bulk_create(
            [
                OperationStep(run=run, position=p, name=f"step {p}", description="bench", commands=[], status="ok")
                for run in made
                for p in range(1, 6)
            ]
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"{runs} runs with 5 steps each written in {time.perf_counter() - start:.1f} s "
        f"(PostgreSQL {connection.cursor().connection.info.server_version})"
    )

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    changelist = reverse("admin:operations_operationrun_changelist")
    backup_now = reverse("admin:operations_backup_now")

    def get(url: str) -> None:
        response = client.get(url)
        assert response.status_code == 200, response.status_code

    def post() -> None:
        response = client.post(backup_now)
        assert response.status_code == 302 and "/backup-now/" not in response.url, response.url

    def cancel_pending() -> None:
        for run in OperationRun.objects.filter(status="pending"):
            run_requests.cancel(run.pk, "bench")

    get(changelist)  # warm up: templates, the connection
    show(
        "GET runs list (10,000 runs)" if runs == 10000 else f"GET runs list ({runs} runs)",
        timed(lambda: get(changelist), repeat),
    )
    show("GET Back up now (preview)", timed(lambda: get(backup_now), repeat))
    posts, requests = [], []
    for _ in range(repeat):
        posts += timed(post, 1)
        cancel_pending()
        requests += timed(lambda: services.request_backup(user), 1)
        cancel_pending()
    show("POST Back up now (whole request)", posts)
    show("  services.request_backup alone", requests)
    redis.Redis.from_url(settings.REDIS_URL).delete(settings.OPERATIONS_QUEUE)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    if os.environ.get("PORTAL_BENCH_INNER"):
        bench(args.runs, args.repeat)
        return 0
    try:
        env = {
            **os.environ,
            **env_of("scripts/services.py", "up", "--profile", "test"),
            **env_of("scripts/postgres.py", "up", "--profile", "test", "--database", "bench"),
            "PORTAL_OPERATIONS_QUEUE": f"bench-{os.getpid()}",
            "PORTAL_OPERATIONS_QUEUES": "",
            "PORTAL_OPERATIONS_TARGET": "local",
            "DJANGO_SETTINGS_MODULE": "alchemiscale_portal.settings",
            "PORTAL_BENCH_INNER": "1",
        }
        Path(env["PORTAL_BACKUP_DIR"]).mkdir(parents=True, exist_ok=True)
        return subprocess.run([sys.executable, __file__, *sys.argv[1:]], cwd=ROOT, env=env).returncode
    finally:
        subprocess.run([sys.executable, "scripts/postgres.py", "down", "--profile", "test"], cwd=ROOT)
        subprocess.run([sys.executable, "scripts/services.py", "down", "--profile", "test"], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main())
