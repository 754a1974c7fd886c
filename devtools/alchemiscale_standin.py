"""STAND-IN for ``alchemiscale database migrate v03-to-v04`` (and, for the release upgrade's tests, for ``alchemiscale
api``, ``compute api`` and ``strategist``) — not alchemiscale, and not shipped to operators.

alchemiscale cannot be installed on the project's machines (its ``gufe`` dependency is not on PyPI), so the
portal's tests drive the schema migration through this command instead. It takes the same arguments and
environment as the real CLI (``NEO4J_URL``, ``NEO4J_USER``, ``NEO4J_PASS``, ``NEO4J_DBNAME``) and does to the
graph what alchemiscale 0.4's ``alchemiscale.migrations.v03_to_v04.migrate`` does:

* every ``AlchemicalNetwork`` that has no ``NetworkMark`` gets one: a node labelled ``GufeTokenizable`` and
  ``NetworkMark`` with ``target`` (the network's scoped key), ``state`` ``"active"``, the gufe bookkeeping
  properties (``__qualname__``, ``__module__``, ``:version:``, ``_json_props``), a gufe key
  ``NetworkMark-<md5 of target>`` and the network's scope (``_org``, ``_campaign``, ``_project``,
  ``_scoped_key``);
* a ``MARKS`` relationship from the mark to the network carrying the same scope properties;
* the mark is merged on ``GufeTokenizable._scoped_key`` (alchemiscale's unique constraint), so a second run
  changes nothing.

It prints the real command's closing line, "Migration completed without errors.", so the portal reads both
the same way. Development tooling, never imported by the portal: ``scripts/run.sh`` and ``scripts/test.sh`` point
``PORTAL_ALCHEMISCALE_CLI`` at it (and set ``PORTAL_ALCHEMISCALE_CLI_STANDIN=1``, so the portal says "STAND-IN")
unless ``PORTAL_ALCHEMISCALE_CLI`` is already set, e.g. to the real ``alchemiscale``:

    python -m devtools.alchemiscale_standin database migrate v03-to-v04 [--url ...] [--user ...]

For the Docker target's tests, ``scripts/standin_image.py`` packs this file as the entry point of a stand-in for the
alchemiscale-server image (``IMAGE_TAG``, labelled ``IMAGE_LABEL``), so ``docker run IMAGE database migrate
v03-to-v04`` behaves like the real image's CLI. ``IMAGE_LABEL`` is the label the portal reads to call an image a
stand-in (``STANDIN_LABEL`` in ``operations/targets/alchemiscale_cli.py``, docs/facts.md); it is written out here
rather than imported because this file is standard library only at import time (the image builder, run by the
system's python3, imports it).
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import json
import os
import signal
import sys
import time
from typing import Any

COMPLETED = "Migration completed without errors."
#: the stand-in image's tag, and the label that marks an image as this stand-in (the portal says so on screen)
IMAGE_TAG = "alchemiscale-server-standin:v0.4.0"
IMAGE_LABEL = "org.alchemiscale-portal.standin"  # == operations.targets.alchemiscale_cli.STANDIN_LABEL

FIND_UNMARKED = (
    "MATCH (an:AlchemicalNetwork) WHERE NOT (an)<-[:MARKS]-(:NetworkMark) "
    "RETURN an._scoped_key AS network, an._org AS org, an._campaign AS campaign, an._project AS project"
)
MERGE_MARKS = (
    "UNWIND $marks AS m "
    "MATCH (an:AlchemicalNetwork {_scoped_key: m.props.target}) "
    "MERGE (nm:GufeTokenizable {_scoped_key: m.props._scoped_key}) "
    "SET nm += m.props, nm:NetworkMark "
    "MERGE (nm)-[r:MARKS]->(an) "
    "SET r._org = m.props._org, r._campaign = m.props._campaign, r._project = m.props._project "
    "RETURN count(nm)"
)


def network_mark_properties(
    network: str, org: str, campaign: str, project: str, state: str = "active"
) -> dict[str, Any]:
    """The properties alchemiscale 0.4 gives the NetworkMark of the network with scoped key ``network``."""
    # A Mark's gufe token is the md5 of its target's scoped key (alchemiscale.storage.models.Mark).
    gufe_key = "NetworkMark-" + hashlib.md5(network.encode(), usedforsecurity=False).hexdigest()
    return {
        "__qualname__": "NetworkMark",
        "__module__": "alchemiscale.storage.models",
        ":version:": 1,
        "target": network,
        "state": state,
        "_json_props": [],
        "_gufe_key": gufe_key,
        "_scoped_key": f"{gufe_key}-{org}-{campaign}-{project}",
        "_org": org,
        "_campaign": campaign,
        "_project": project,
    }


def migrate_v03_to_v04(driver: Any, database: str) -> int:
    """Add the missing NetworkMarks in one transaction; returns how many were added."""
    with driver.session(database=database) as session:

        def work(tx: Any) -> int:
            rows = list(tx.run(FIND_UNMARKED))
            marks = [
                {"props": network_mark_properties(r["network"], r["org"], r["campaign"], r["project"])} for r in rows
            ]
            if marks:
                tx.run(MERGE_MARKS, marks=marks).consume()
            return len(marks)

        return session.execute_write(work)


#: what the stand-in's services answer on /ping, as alchemiscale's client and compute APIs do
PING_ANSWERS = {"api": {"api": "AlchemiscaleAPI"}, "compute": {"api": "AlchemiscaleComputeAPI"}}
#: baked into the stand-in images by ``scripts/standin_image.py --tag T [--unhealthy]``: the release the image plays,
#: and a deliberately broken release whose APIs answer /ping with 503 (for the release upgrade's failure test)
VERSION_VARIABLE = "ALCHEMISCALE_STANDIN_VERSION"
UNHEALTHY_VARIABLE = "ALCHEMISCALE_STANDIN_UNHEALTHY"


def serve(which: str, argv: list[str]) -> int:
    """STAND-IN for ``alchemiscale api`` / ``alchemiscale compute api``: answers ``GET /ping`` as they do (503 in an
    image built ``--unhealthy``), and says which stand-in release it is in the ``X-Standin-Version`` header."""
    parser = argparse.ArgumentParser(prog=f"alchemiscale-standin {which}")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1840 if which == "api" else 1841)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    healthy = os.environ.get(UNHEALTHY_VARIABLE) != "1"
    version = os.environ.get(VERSION_VARIABLE, "")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ok = self.path == "/ping" and healthy
            body = json.dumps(PING_ANSWERS[which] if ok else {"detail": "unavailable"}).encode()
            self.send_response(200 if ok else (503 if self.path == "/ping" else 404))
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Standin-Version", version)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer((args.host, args.port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # PID 1 in a container ignores SIGTERM without a handler
    print(f"stand-in for alchemiscale {which} {version} on {args.host}:{args.port}", flush=True)
    server.serve_forever()
    return 0


def strategist(argv: list[str]) -> int:
    """STAND-IN for ``alchemiscale strategist``: a long-running process with no endpoint, until stopped."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"stand-in for alchemiscale strategist {os.environ.get(VERSION_VARIABLE, '')}", flush=True)
    while True:
        time.sleep(3600)


def main(argv: list[str]) -> int:
    if argv[:1] == ["api"]:
        return serve("api", argv[1:])
    if argv[:2] == ["compute", "api"]:
        return serve("compute", argv[2:])
    if argv[:1] == ["strategist"]:
        return strategist(argv[1:])
    parser = argparse.ArgumentParser(prog="alchemiscale-standin", description=__doc__.splitlines()[0])
    parser.add_argument("group", choices=["database"])
    parser.add_argument("command", choices=["migrate"])
    parser.add_argument("migration", choices=["v03-to-v04"])
    parser.add_argument("--url", default=os.environ.get("NEO4J_URL"))
    parser.add_argument("--user", default=os.environ.get("NEO4J_USER"))
    parser.add_argument("--password", default=os.environ.get("NEO4J_PASS"))
    parser.add_argument("--dbname", default=os.environ.get("NEO4J_DBNAME", "neo4j"))
    args = parser.parse_args(argv)
    if not args.url or not args.user or args.password is None:
        parser.error("NEO4J_URL, NEO4J_USER and NEO4J_PASS (or --url, --user, --password) are required")
    # Only the command needs the driver: the image builder (scripts/standin_image.py) imports this module's constants
    # with the system's python3, which need not have it.
    from neo4j import GraphDatabase

    with GraphDatabase.driver(args.url, auth=(args.user, args.password)) as driver:
        added = migrate_v03_to_v04(driver, args.dbname)
    print(f"stand-in for alchemiscale v03-to-v04: {added} NetworkMark(s) added")
    print(COMPLETED)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
