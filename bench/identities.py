#!/usr/bin/env python3
"""Bench: the identity admin's list pages with 100,000 user identities in Neo4j.

    PORTAL_TEST_SLOT=N .venv/bin/python bench/identities.py [--count 100000] [--repeat 5]
    PORTAL_TEST_SLOT=N .venv/bin/python bench/identities.py --scopes 6000

``--scopes N`` measures instead the scopes page (``/admin/identity-scopes/``) and the report behind it with one
identity holding N scopes (written straight to Neo4j, past the portal's cap, as alchemiscale's own tools may).

Starts the test slot's own Neo4j and Redis (never the dev or a production store), seeds the identities with batched
UNWIND (plus alchemiscale's four constraints, as a real deployment has them), then requests admin pages through
Django's test client and prints, for each page, the time of its first (cold) request, the median of the repeats
after that, how much of it was spent waiting for Neo4j, and the number of Cypher queries it sent. The seeded nodes are removed at the end and the services stopped.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGES = [
    ("first list page", ""),
    ("search (part of an email)", "?q=USER-004242%40"),
    ("search (no match)", "?q=nobody-here"),
    ("filter: disabled", "?disabled=yes"),
    ("filter: expired", "?expired=yes"),
    ("filter: scope under org", "?org=org07"),
    ("sort by email, descending", "?o=-4"),
    ("page 500 (deep)", "?p=500"),
    ("filter + search", "?org=org07&q=user-0"),
]


def services(command: str) -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "scripts/services.py", command, "--profile", "test"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line and not line.startswith("#"))


def seed(count: int) -> float:
    import bcrypt

    from identities import store

    # One real hash for all: hashing 100,000 keys would take hours and changes nothing in the list pages.
    hashed = bcrypt.hashpw(b"bench-key", bcrypt.gensalt(12)).decode()
    rng = random.Random(7)
    started = time.perf_counter()
    for start in range(0, count, 10_000):
        rows = []
        for i in range(start, min(start + 10_000, count)):
            row = {
                "identifier": f"bench-user-{i:06d}",
                "hashed_key": hashed,
                "disabled": rng.random() < 0.01,
                "scopes": [
                    f"org{rng.randrange(50):02d}-camp{rng.randrange(5)}-proj{rng.randrange(20)}"
                    for _ in range(rng.randrange(1, 4))
                ],
            }
            if i % 2 == 0:
                row["email"] = f"user-{i:06d}@lab{i % 13}.example.org"
            if i % 3 == 0:
                row["full_name"] = f"Bench User {i}"
            rows.append(row)
        store.cypher(
            "UNWIND $rows AS row CREATE (n:CredentialedEntity:CredentialedUserIdentity) SET n = row", {"rows": rows}
        )
    store.cypher(
        "MATCH (n:CredentialedUserIdentity) WHERE n.identifier STARTS WITH 'bench-user-' "
        "AND toInteger(right(n.identifier, 6)) % 10 = 1 "
        "SET n.expires = datetime() + duration({days: toInteger(right(n.identifier, 6)) % 40 - 20})"
    )
    return time.perf_counter() - started


def remove_seeded() -> None:
    from identities import store

    store.cypher("MATCH (n:CredentialedEntity) WHERE n.identifier STARTS WITH 'bench-user-' DETACH DELETE n")


def start_slot(sqlite_name: str, **extra_env: str) -> bool:
    """Start the test slot's Neo4j and Redis and point Django at them and at a bench SQLite file of that name."""
    if not os.environ.get("PORTAL_TEST_SLOT"):
        print("error: set PORTAL_TEST_SLOT=N: the bench runs on that test slot's own Neo4j", file=sys.stderr)
        return False
    os.environ.update(services("up"))
    os.environ["PORTAL_TEST_SQLITE"] = str(Path(os.environ["PORTAL_DATA_DIR"]) / sqlite_name)
    os.environ["DATABASE_URL"] = "sqlite:///" + os.environ["PORTAL_TEST_SQLITE"]
    os.environ.update(extra_env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alchemiscale_portal.settings")
    return True


def scopes_page(count: int) -> None:
    """One identity with ``count`` scopes: how long the scopes report and the whole page take."""
    # Here, not at the top: the portal's modules need django.setup() with the slot's environment first.
    from django.contrib.auth import get_user_model
    from django.test import Client

    from identities import inventory, store

    scopes = [f"org{i % 50:02d}-camp{i % 7}-proj{i}" for i in range(count)]
    store.cypher(
        "CREATE (n:CredentialedEntity:CredentialedUserIdentity {identifier: 'bench-user-scopes', scopes: $scopes})",
        {"scopes": scopes},
    )
    started = time.perf_counter()
    rows = inventory.scope_report()
    print(f"scope report, 1 identity with {count} scopes: {len(rows)} rows in {time.perf_counter() - started:.2f} s")
    user = get_user_model().objects.filter(username="bench").first() or get_user_model().objects.create_superuser(
        "bench", "bench@example.org", "bench-password-unused"
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    started = time.perf_counter()
    response = client.get("/admin/identity-scopes/")
    assert response.status_code == 200, response.status_code
    print(f"scopes page: {time.perf_counter() - started:.2f} s, {len(response.content) // 1024} KiB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--scopes", type=int, default=0, help="measure the scopes page instead (see above)")
    args = parser.parse_args()
    if not start_slot("bench-portal.sqlite3"):
        return 2
    if args.scopes:
        try:
            import django  # here, as in the list bench below: after start_slot() set the environment

            django.setup()
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
            remove_seeded()
            scopes_page(args.scopes)
            remove_seeded()
        finally:
            services("down")
        return 0
    try:
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.test import Client
        from neomodel import db

        from tests.conftest import create_alchemiscale_constraints

        call_command("migrate", verbosity=0)
        remove_seeded()
        create_alchemiscale_constraints()  # what `alchemiscale database init` gives a real store
        print(f"seeded {args.count} user identities in {seed(args.count):.1f} s")
        user = get_user_model().objects.filter(username="bench").first() or get_user_model().objects.create_superuser(
            "bench", "bench@example.org", "bench-password-unused"
        )
        # Not setup_test_environment(): its template instrumentation would inflate the render times.
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)

        queries: list[float] = []
        real = db.cypher_query

        def counting(query, params=None, *a, **kw):
            started = time.perf_counter()
            try:
                return real(query, params, *a, **kw)
            finally:
                queries.append((time.perf_counter() - started) * 1000)

        db.cypher_query = counting
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

        def measure(query: str) -> tuple[float, float, int]:
            queries.clear()
            started = time.perf_counter()
            response = client.get("/admin/identities/useridentity/" + query)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (query, response.status_code)
            return elapsed, sum(queries), len(queries)

        # The first round meets a cold JVM (Neo4j compiles each new query shape) and cold template caches; it is
        # reported on its own, and the medians come from the rounds after it.
        cold = {name: measure(query)[0] for name, query in PAGES}
        warm: dict[str, list[tuple[float, float, int]]] = {name: [] for name, _ in PAGES}
        for _ in range(args.repeat):
            for name, query in PAGES:
                warm[name].append(measure(query))
        print(f"{'page':32} {'cold ms':>8} {'median ms':>10} {'of it Cypher ms':>16} {'queries':>8}")
        for name, _ in PAGES:
            runs = warm[name]
            print(
                f"{name:32} {cold[name]:8.0f} {statistics.median(r[0] for r in runs):10.0f} "
                f"{statistics.median(r[1] for r in runs):16.0f} {max(r[2] for r in runs):8d}"
            )
        print(f"load average after: {os.getloadavg()[0]:.1f}")
        db.cypher_query = real
        remove_seeded()
    finally:
        services("down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
