#!/usr/bin/env python3
"""Bench: the fleet pages (docs/compute.md) over a large fleet written as alchemiscale writes it.

    PORTAL_TEST_SLOT=N .venv/bin/python bench/compute.py [--services 10000] [--tasks 100000] [--results 20000]
                                                          [--repeat 5]

Starts the test slot's own Neo4j and Redis (never the dev or a production store), seeds with batched UNWIND in the
shapes of tests/compute_support.py (registrations with heartbeats and failure times, managers, networks with their
mark, hub and transformation, tasks with PERFORMS and ACTIONS, claims, results with their creator, tracebacks on
failures), adds alchemiscale's four constraints and no index, then requests each page through Django's test client and
prints its first (cold) time and the median of the repeats. The pages that count over the whole store keep their
counts a few minutes (compute/counted.py): their cold time is the count, their median the kept answer, and the
"recount" rows what a page costs when it counts again. Then the fleet's /metrics figures and one sampler run.
The issue's size is 1,000,000 tasks and 200,000 results; seeding that takes long on a 2-core machine, so the
defaults are a tenth of it (pass the sizes to go further). Everything seeded is removed at the end and the services
stopped, unless ``--keep``: then ``--reuse`` measures the same fleet again without seeding it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.identities import services, start_slot  # noqa: E402

SCOPES = [f"org{o}-camp{c}-proj{p}" for o in range(4) for c in range(2) for p in range(3)]
STATUSES = ["waiting"] * 5 + ["complete"] * 3 + ["error", "invalid", "deleted"]
BATCH = 10_000


def seed(n_services: int, n_tasks: int, n_results: int) -> tuple[list[str], list[str]]:
    from identities import store

    rng = random.Random(11)
    now = dt.datetime.now(dt.UTC)
    managers = [f"mgr{i:02d}" for i in range(20)]
    store.cypher(
        "UNWIND $rows AS row CREATE (n:ComputeManagerRegistration) SET n = row",
        {
            "rows": [
                {
                    "name": m,
                    "uuid": uuid.uuid4().hex,
                    "registered": now - dt.timedelta(days=2),
                    "last_status_update": now - dt.timedelta(minutes=rng.randrange(60)),
                    "status": "ERROR" if i < 2 else "OK",
                    "detail": "bench: pool exhausted" if i < 2 else "",
                    **({} if i < 2 else {"saturation": rng.random()}),
                }
                for i, m in enumerate(managers)
            ]
        },
    )
    ids = [f"worker-{i:05d}-{uuid.uuid4().hex}" for i in range(n_services)]
    for start in range(0, n_services, BATCH):
        rows = []
        for i in range(start, min(start + BATCH, n_services)):
            stale = i % 20 == 0
            heartbeat = now - dt.timedelta(seconds=rng.randrange(7200, 90000) if stale else rng.randrange(1500))
            row = {
                "identifier": ids[i],
                "registered": heartbeat - dt.timedelta(hours=rng.randrange(1, 48)),
                "heartbeat": heartbeat,
                "failure_times": [
                    now - dt.timedelta(seconds=rng.randrange(3600)) for _ in range(rng.choice([0, 0, 1, 5]))
                ],
            }
            if i % 3:
                row["manager_name"] = managers[i % len(managers)]
            rows.append(row)
        store.cypher("UNWIND $rows AS row CREATE (n:ComputeServiceRegistration) SET n = row", {"rows": rows})
    store.cypher(
        "MATCH (cmr:ComputeManagerRegistration), (csr:ComputeServiceRegistration {manager_name: cmr.name}) "
        "CREATE (cmr)-[:MANAGES]->(csr)"
    )
    networks = []
    for i, scope in enumerate(SCOPES * 3):
        org, camp, proj = scope.split("-")
        key = f"{uuid.uuid4().hex}-{scope}"
        networks.append(f"AlchemicalNetwork-{key}")
        store.cypher(
            "CREATE (tf:GufeTokenizable:Transformation {_scoped_key: $tf, _org: $o, _campaign: $c, _project: $p}) "
            "CREATE (an:GufeTokenizable:AlchemicalNetwork {_scoped_key: $an, _org: $o, _campaign: $c, _project: $p}) "
            "CREATE (an)-[:DEPENDS_ON {attribute: 'edges', index: 0, _org: $o, _campaign: $c, _project: $p}]->(tf) "
            "CREATE (:GufeTokenizable:NetworkMark {_scoped_key: $nm, target: $an, state: $state, _org: $o, "
            "_campaign: $c, _project: $p})-[:MARKS {_org: $o, _campaign: $c, _project: $p}]->(an) "
            "CREATE (:GufeTokenizable:TaskHub {_scoped_key: $th, network: $an, weight: 0.5, _org: $o, _campaign: $c, "
            "_project: $p})-[:PERFORMS {_org: $o, _campaign: $c, _project: $p}]->(an)",
            {
                "tf": f"Transformation-{key}",
                "an": networks[-1],
                "nm": f"NetworkMark-{key}",
                "th": f"TaskHub-{key}",
                "state": "inactive" if i % 10 == 9 else "active",
                "o": org,
                "c": camp,
                "p": proj,
            },
        )
    tasks = []
    for start in range(0, n_tasks, BATCH):
        rows = []
        for i in range(start, min(start + BATCH, n_tasks)):
            net = networks[i % len(networks)]
            scope = net.split("-", 2)[2]
            org, camp, proj = scope.split("-")
            sk = f"Task-{uuid.uuid4().hex}-{scope}"
            tasks.append(sk)
            rows.append(
                {
                    "tf": "Transformation-" + net.split("-", 1)[1],
                    "hub": "TaskHub-" + net.split("-", 1)[1],
                    "props": {
                        "_scoped_key": sk,
                        "_org": org,
                        "_campaign": camp,
                        "_project": proj,
                        "status": STATUSES[i % len(STATUSES)],
                        "priority": rng.randrange(1, 11),
                        "datetime_created": now - dt.timedelta(minutes=rng.randrange(60 * 24 * 30)),
                    },
                }
            )
        store.cypher(
            "UNWIND $rows AS row MATCH (tf:Transformation {_scoped_key: row.tf}), (th:TaskHub {_scoped_key: row.hub}) "
            "CREATE (t:GufeTokenizable:Task) SET t = row.props "
            "CREATE (t)-[:PERFORMS {_org: t._org, _campaign: t._campaign, _project: t._project}]->(tf) "
            "CREATE (th)-[ar:ACTIONS {weight: 0.5}]->(t) SET ar.task = t._scoped_key",
            {"rows": rows},
        )
    # claims: about one running task per five services, as the claim query makes them
    claims = [{"task": tasks[i], "service": ids[rng.randrange(n_services)]} for i in range(0, len(tasks), 11)][
        : n_services // 5
    ]
    for start in range(0, len(claims), BATCH):
        store.cypher(
            "UNWIND $rows AS row MATCH (t:GufeTokenizable {_scoped_key: row.task}), "
            "(cs:ComputeServiceRegistration {identifier: row.service}) "
            "CREATE (t)<-[:CLAIMS {claimed: $at}]-(cs) SET t.status = 'running'",
            {"rows": claims[start : start + BATCH], "at": now - dt.timedelta(minutes=30)},
        )
    for start in range(0, n_results, BATCH):
        rows = []
        for i in range(start, min(start + BATCH, n_results)):
            task = tasks[(i * 7) % len(tasks)]
            ok = i % 10 != 0
            rows.append(
                {
                    "task": task,
                    "ok": ok,
                    "ref": {
                        "_scoped_key": f"ProtocolDAGResultRef-{uuid.uuid4().hex}-{task.split('-', 2)[2]}",
                        "ok": ok,
                        "creator": ids[rng.randrange(n_services)],
                        "datetime_created": (now - dt.timedelta(minutes=rng.randrange(60 * 24 * 7))).isoformat(),
                    },
                }
            )
        store.cypher(
            "UNWIND $rows AS row MATCH (t:GufeTokenizable {_scoped_key: row.task}) "
            "CREATE (r:GufeTokenizable:ProtocolDAGResultRef) SET r = row.ref CREATE (t)-[:RESULTS_IN]->(r) "
            "FOREACH (_ IN CASE WHEN row.ok THEN [] ELSE [1] END | "
            "CREATE (:GufeTokenizable:Tracebacks {tracebacks: ['bench: boom']})-[:DETAILS]->(r))",
            {"rows": rows},
        )
    return ids, tasks


def empty_store() -> None:
    """Relationships, then nodes, in small batches: Neo4j caps the memory all transactions may hold, and one DETACH
    DELETE of a seeded store goes over it."""
    from identities import store

    while store.cypher("MATCH ()-[r]->() WITH r LIMIT 2000 DELETE r RETURN count(*)")[0][0]:
        pass
    while store.cypher("MATCH (n) WITH n LIMIT 2000 DELETE n RETURN count(*)")[0][0]:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--results", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="leave the seeded fleet in the slot's store")
    parser.add_argument(
        "--reuse", action="store_true", help="measure the fleet a --keep run left (seed only if the store is empty)"
    )
    args = parser.parse_args()
    if not start_slot("bench-compute.sqlite3"):
        return 2
    try:
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.test import Client

        from identities import store
        from tests.conftest import create_alchemiscale_constraints

        call_command("migrate", verbosity=0)
        kept = store.cypher("MATCH (s:ComputeServiceRegistration) RETURN s.identifier ORDER BY s.identifier LIMIT 8")
        if args.reuse and kept:
            ids = [row[0] for row in kept]
            print(f"measuring the fleet a --keep run left: {store.node_count()} nodes")
        else:
            empty_store()
            create_alchemiscale_constraints()  # what `alchemiscale database init` gives a real store; no index added
            started = time.perf_counter()
            ids, _ = seed(args.services, args.tasks, args.results)
            print(
                f"seeded {args.services} services, {args.tasks} tasks, {args.results} results "
                f"in {time.perf_counter() - started:.0f} s"
            )
        user = get_user_model().objects.filter(username="bench").first() or get_user_model().objects.create_superuser(
            "bench", "bench@example.org", "bench-password-unused"
        )
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        scope = SCOPES[5].split("-")
        pages = [
            ("services", "/admin/compute/services/"),
            ("services: stale", "/admin/compute/services/?state=stale"),
            ("services: denied", "/admin/compute/services/?state=denied"),
            ("services: by claims", "/admin/compute/services/?sort=-claims"),
            ("services: search", "/admin/compute/services/?q=worker-0424"),
            ("one service", f"/admin/compute/services/{ids[7]}/"),
            ("managers", "/admin/compute/managers/"),
            ("tasks by scope", "/admin/compute/tasks/"),
            ("tasks by scope: any", "/admin/compute/tasks/?network_state=any"),
            (
                "task list: error",
                f"/admin/compute/tasks/list/?org={scope[0]}&campaign={scope[1]}&project={scope[2]}&status=error",
            ),
            ("anomalies", "/admin/compute/anomalies/"),
            ("networks", "/admin/compute/networks/"),
            ("throughput", "/admin/compute/throughput/"),
            ("dashboard", "/admin/dashboard/"),
            ("front page", "/admin/"),
            # counted again whatever the cache holds: what a page costs when its kept counts have expired
            ("tasks by scope: recount", "/admin/compute/tasks/?recount=1"),
            ("anomalies: recount", "/admin/compute/anomalies/?recount=1"),
            ("networks: recount", "/admin/compute/networks/?recount=1"),
            ("throughput: recount", "/admin/compute/throughput/?recount=1"),
        ]

        def measure(url: str) -> float:
            began = time.perf_counter()
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            return (time.perf_counter() - began) * 1000

        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        cold = {name: measure(url) for name, url in pages}
        warm = {name: [measure(url) for _ in range(args.repeat)] for name, url in pages}
        print(f"{'page':24} {'cold ms':>8} {'median ms':>10}")
        for name, _ in pages:
            print(f"{name:24} {cold[name]:8.0f} {statistics.median(warm[name]):10.0f}")
        # Imported here: these need the Django apps, which are set up only once the portal's settings are chosen.
        from compute import counted, history, watch

        def timed(job) -> float:
            began = time.perf_counter()
            job()
            return (time.perf_counter() - began) * 1000

        # /metrics' own figures (a scrape also waits about a second for Celery workers: bench/dashboard.py)
        counted.forget()
        gauges_cold = timed(watch.gauges)
        gauges_warm = statistics.median(timed(watch.gauges) for _ in range(args.repeat))
        print(f"{'/metrics: the fleet':24} {gauges_cold:8.0f} {gauges_warm:10.0f}")
        print(f"{'sampler run':24} {timed(history.sample):8.0f}")
        print(f"load average after: {os.getloadavg()[0]:.1f}")
        if not args.keep:
            empty_store()
    finally:
        services("down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
