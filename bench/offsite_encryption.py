#!/usr/bin/env python3
"""What encrypting an off-site copy with age costs: time and peak memory on a real Neo4j dump.

    .venv/bin/python bench/offsite_encryption.py [--nodes 1200000] [--repeat 3] [--keep]

Fills the bench instance of ``bench/backup.py`` (``.run/bench-<slot>/``, filled with ``neo4j-admin database import``:
``--nodes`` nodes and as many relationships; kept between runs) and dumps it with ``neo4j-admin database dump``. Then,
each in a fresh Python process so that its peak resident memory (``ru_maxrss``) is its own, ``--repeat`` times:

- ``hash``: SHA-256, SHA-1 and MD5 of the dump in one read (what an unencrypted copy costs here before rclone);
- ``encrypt``: the portal's ``encryption.encrypt_file`` (pyrage's ``encrypt_io`` through the hashing wrappers: the
  plain SHA-256 and the stored SHA-256, SHA-1 and MD5 in the same pass) to a scratch file;
- ``decrypt``: ``encryption.decrypt_stream`` from that file to another, both sides hashed (what a fetch does);
- ``idle``: the same process importing the same modules and doing nothing (the baseline of the memory figures).

Prints the medians: seconds, MB/s of plain bytes, peak RSS and peak RSS above the idle process.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.local_neo4j import Neo4jInstance  # noqa: E402

CHILD = r"""
import json, os, resource, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alchemiscale_portal.settings")
import django
django.setup()
from django.conf import settings
from operations.backups import encryption, offsite
what, dump, scratch, recipient, identity_file = sys.argv[1:6]
settings.BACKUP_RECIPIENTS, settings.BACKUP_IDENTITY_FILE = [recipient], identity_file
t0 = time.perf_counter()
if what == "hash":
    offsite.local_hashes(__import__("pathlib").Path(dump))
elif what == "encrypt":
    encryption.encrypt_file(__import__("pathlib").Path(dump), __import__("pathlib").Path(scratch))
elif what == "decrypt":
    with open(scratch, "rb") as fin, open(scratch + ".out", "wb") as fout:
        encryption.decrypt_stream(fin, fout, [recipient])
took = time.perf_counter() - t0
print(json.dumps({"seconds": took, "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def load_bench_backup():
    """bench/backup.py's store builder (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("bench_backup", ROOT / "bench" / "backup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def child(what: str, dump: Path, scratch: Path, recipient: str, identity_file: Path, env: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, what, str(dump), str(scratch), recipient, str(identity_file)],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{what} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1_200_000, help="nodes (and as many relationships)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the dump for another run")
    args = parser.parse_args(argv)
    # Placeholder services: the children touch no Neo4j, Redis or database.
    env = {
        **os.environ,
        "NEO4J_URL": "bolt://127.0.0.1:9",
        "NEO4J_USER": "neo4j",
        "NEO4J_PASS": "x",
        "REDIS_URL": "redis://127.0.0.1:9/0",
        "PORTAL_CACHE_URL": "locmem://",
    }
    os.environ.update({k: env[k] for k in ("NEO4J_URL", "NEO4J_USER", "NEO4J_PASS", "REDIS_URL", "PORTAL_CACHE_URL")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alchemiscale_portal.settings")
    import django

    django.setup()
    bench = load_bench_backup()
    state: Path = bench.STATE
    state.mkdir(parents=True, exist_ok=True)
    env["PORTAL_DATA_DIR"] = str(state)
    password_file = state / "neo4j-password"
    if not password_file.exists():
        password_file.write_text("p" + secrets.token_urlsafe(18))
    inst = Neo4jInstance(home=state / "neo4j", bolt_port=bench.BOLT, http_port=bench.HTTP, heap="1g", pagecache="512m")
    inst.init(password_file.read_text().strip())
    bench.build_store(inst, args.nodes)
    work = state / "encryption"
    work.mkdir(exist_ok=True)
    dump = work / "neo4j.dump"
    if not dump.exists():
        t0 = time.monotonic()
        proc = inst.admin(["database", "dump", "neo4j", f"--to-path={work}", "--overwrite-destination=true"])
        if proc.returncode != 0:
            raise SystemExit(f"dump failed:\n{proc.stdout}{proc.stderr}")
        print(f"dumped in {time.monotonic() - t0:.1f} s", file=sys.stderr)
    size = dump.stat().st_size
    import pyrage

    key = pyrage.x25519.Identity.generate()
    identity_file = work / "identity.txt"
    identity_file.write_text(f"{key}\n")
    scratch = work / "neo4j.dump.age"
    rounds: dict[str, list[dict]] = {w: [] for w in ("idle", "hash", "encrypt", "decrypt")}
    for _ in range(args.repeat):
        for what in rounds:
            if what == "encrypt":
                scratch.unlink(missing_ok=True)
            rounds[what].append(child(what, dump, scratch, str(key.to_public()), identity_file, env))
        Path(str(scratch) + ".out").unlink(missing_ok=True)
    stored = scratch.stat().st_size
    print(
        f"dump: {args.nodes} nodes + {args.nodes} relationships, {size / 2**20:.1f} MiB; encrypted "
        f"{stored / 2**20:.1f} MiB (+{(stored - size) / size * 100:.2f} %); medians of {args.repeat}"
    )
    idle_rss = statistics.median(r["maxrss_kib"] for r in rounds["idle"]) / 1024
    for what in ("hash", "encrypt", "decrypt"):
        seconds = statistics.median(r["seconds"] for r in rounds[what])
        rss = statistics.median(r["maxrss_kib"] for r in rounds[what]) / 1024
        print(
            f"  {what:<8} {seconds:6.2f} s  {size / 2**20 / seconds:7.1f} MiB/s  peak RSS {rss:6.1f} MiB "
            f"(+{rss - idle_rss:.1f} MiB over an idle process of {idle_rss:.1f} MiB)"
        )
    if not args.keep:
        for path in (scratch, dump):
            path.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
