"""Backups (where, off-site copies, snapshots), the operations target (which Neo4j backups, restores and store
migrations act on, and how), store migrations, and the /metrics endpoint."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from operations.target_names import LOCAL_TARGET, TARGET_NAMES

from ..env import env_bool, env_choice, env_command, env_int, env_list, env_str
from .base import DATA_DIR

# ---- backups -----------------------------------------------------------------------------------------
BACKUP_DIR = Path(env_str("PORTAL_BACKUP_DIR", str(DATA_DIR / "backups"))).resolve()
# Off-site copies (docs/offsite-copies.md): each dump is copied with rclone to this remote and directory, e.g.
# "portal-offsite:backups" ("" turns copies off). rclone's own configuration comes from RCLONE_CONFIG (a file) or
# RCLONE_CONFIG_<REMOTE>_* variables in the worker's environment.
OFFSITE_REMOTE = env_str("PORTAL_OFFSITE_REMOTE", "")
OFFSITE_RCLONE = env_str("PORTAL_OFFSITE_RCLONE", "rclone")
# Seconds rclone waits to connect before it gives up on an attempt (an unreachable remote fails fast).
OFFSITE_CONNECT_TIMEOUT = env_int("PORTAL_OFFSITE_CONNECT_TIMEOUT", 15)
# A failed copy is tried again after this many minutes, doubling with each attempt (up to a day), at most
# PORTAL_OFFSITE_MAX_ATTEMPTS times in all (then staff ask again: manage.py copy-backup, the admin).
OFFSITE_RETRY_MINUTES = env_int("PORTAL_OFFSITE_RETRY_MINUTES", 10)
OFFSITE_MAX_ATTEMPTS = env_int("PORTAL_OFFSITE_MAX_ATTEMPTS", 12)
# Client-side encryption with age (docs/offsite-encryption.md): every file that leaves the machine is encrypted to
# these public keys ("age1..."; one or more, comma-separated: e.g. the team's and an offline escrow key). Empty: copies
# go in clear. The private key (a file holding "AGE-SECRET-KEY-1..." lines) is needed only where a copy is fetched,
# verified or restored, never to make one.
BACKUP_RECIPIENTS = env_list("PORTAL_BACKUP_RECIPIENTS", [])
BACKUP_IDENTITY_FILE = env_str("PORTAL_BACKUP_IDENTITY_FILE", "")
# Every good copy on the remote is re-checked there once in this many days (a rotating part each day: the remote's
# hash where it offers one, else a read-back); a changed or missing copy is an alert. 0 turns the re-check off.
OFFSITE_RECHECK_DAYS = env_int("PORTAL_OFFSITE_RECHECK_DAYS", 7)
# Writers cannot erase history (docs/offsite-encryption.md): retention's remote deletions go through this remote
# (another rclone remote on the same storage, with credentials that may delete), or "none": append-only, the portal
# deletes nothing off-site and lists what the bucket's own lifecycle rule should expire. Empty: the copies' remote.
OFFSITE_PRUNE_REMOTE = env_str("PORTAL_OFFSITE_PRUNE_REMOTE", "")
# An S3 bucket with object lock: its default retention in days. Copies are written straight to their name (an S3
# upload appears whole or not at all; a locked temporary name could never be removed), the portal never asks to
# delete a copy younger than this, and a refused deletion is expected rather than a failure. 0: no object lock.
OFFSITE_LOCK_DAYS = env_int("PORTAL_OFFSITE_LOCK_DAYS", 0)

# A backup copies the stopped store to a snapshot beside it and dumps that once Neo4j runs again (docs/outage.md);
# it falls back to dumping the stopped store when the data directory's file system would keep less than this free.
SNAPSHOT_KEEP_FREE_MB = env_int("PORTAL_SNAPSHOT_KEEP_FREE_MB", 512)
# Backups with no outage at all (docs/snapshot-backups.md): where the data directory is a btrfs subvolume ("auto"),
# or with a pair of commands that create and remove a snapshot of it ({source}: the data directory, {snapshot}: where
# the snapshot's files must appear, writable), e.g. wrappers around `zfs clone` or `lvcreate -s` + mount.
ONLINE_SNAPSHOTS = env_choice("PORTAL_ONLINE_SNAPSHOTS", "auto", ("auto", "off"))
SNAPSHOT_CREATE_COMMAND = env_command("PORTAL_SNAPSHOT_CREATE_COMMAND", [])
SNAPSHOT_REMOVE_COMMAND = env_command("PORTAL_SNAPSHOT_REMOVE_COMMAND", [])

# ---- operations (backup, restore, migrations): which Neo4j they act on ----------------------------------
OPERATIONS_TARGET = env_choice("PORTAL_OPERATIONS_TARGET", LOCAL_TARGET, TARGET_NAMES)
NEO4J_START_TIMEOUT = env_int("PORTAL_NEO4J_START_TIMEOUT", 180)
# The local target (operations/targets/local.py, docs/local-target.md) drives any Neo4j installation: where it is,
# where its neo4j.conf is (data directories are read from it), and how it is started, stopped and asked whether it
# runs (e.g. systemctl). Unset commands default to the distribution's own bin/neo4j and its pid file.
_neo4j_home = env_str("PORTAL_NEO4J_HOME", "")
NEO4J_HOME = Path(_neo4j_home).absolute() if _neo4j_home else None
_neo4j_conf = env_str("PORTAL_NEO4J_CONF", "")
NEO4J_CONF_DIR = Path(_neo4j_conf).absolute() if _neo4j_conf else None
NEO4J_ADMIN = env_command("PORTAL_NEO4J_ADMIN", [])
NEO4J_START_COMMAND = env_command("PORTAL_NEO4J_START_COMMAND", [])
NEO4J_STOP_COMMAND = env_command("PORTAL_NEO4J_STOP_COMMAND", [])
NEO4J_STATUS_COMMAND = env_command("PORTAL_NEO4J_STATUS_COMMAND", [])
NEO4J_SWITCH_COMMAND = env_command("PORTAL_NEO4J_SWITCH_COMMAND", [])
# The Neo4j 5 release the 4.4 store migration moves to (operations/upgrades/neo4j_data.py): alchemiscale's guide and
# its compose file use 5.18; 5.18.1 is its last release.
NEO4J_MIGRATION_VERSION = env_str("PORTAL_NEO4J_MIGRATION_VERSION", "5.18.1")
if not re.fullmatch(r"5\.\d+\.\d+", NEO4J_MIGRATION_VERSION):
    raise ImproperlyConfigured(
        f"PORTAL_NEO4J_MIGRATION_VERSION must be a Neo4j 5 release such as 5.18.1, got {NEO4J_MIGRATION_VERSION!r}"
    )
# The releases the Neo4j forward upgrades move to (operations/upgrades/neo4j_forward.py): 5.26 LTS, through which
# every upgrade from an earlier 5.x passes, then a 2025.x release (it needs Java 21 or newer).
NEO4J_LTS_VERSION = env_str("PORTAL_NEO4J_LTS_VERSION", "5.26.12")
if not re.fullmatch(r"5\.26\.\d+", NEO4J_LTS_VERSION):
    raise ImproperlyConfigured(
        f"PORTAL_NEO4J_LTS_VERSION must be a Neo4j 5.26 release such as 5.26.12, got {NEO4J_LTS_VERSION!r}"
    )
NEO4J_2025_VERSION = env_str("PORTAL_NEO4J_2025_VERSION", "2025.12.1")
if not re.fullmatch(r"2025\.\d\d\.\d+", NEO4J_2025_VERSION):
    raise ImproperlyConfigured(
        f"PORTAL_NEO4J_2025_VERSION must be a Neo4j 2025.x release such as 2025.12.1, got {NEO4J_2025_VERSION!r}"
    )
# The Celery queue operation runs go to. A local target needs a worker on the Neo4j machine: give that worker
# this queue (`celery worker -Q ...`) when other workers run elsewhere.
OPERATIONS_QUEUE = env_str("PORTAL_OPERATIONS_QUEUE", "celery")
# A queue per target when targets are reached from different machines (docs/deploying.md, "More than one machine"):
# PORTAL_OPERATIONS_QUEUES=local:ops-local,docker:ops-docker. A target not named here uses OPERATIONS_QUEUE.
OPERATIONS_QUEUES: dict[str, str] = {}
for _pair in filter(None, (p.strip() for p in env_str("PORTAL_OPERATIONS_QUEUES", "").split(","))):
    _name, _sep, _queue = (s.strip() for s in _pair.partition(":"))
    if not _sep or _name not in TARGET_NAMES or not _queue:
        raise ImproperlyConfigured(
            f"PORTAL_OPERATIONS_QUEUES: {_pair!r} is not <target>:<queue> with target local or docker"
        )
    OPERATIONS_QUEUES[_name] = _queue
# Lost messages heal themselves (docs/runs.md): every worker re-sends pending runs of its queues whose message has
# waited this long, when it starts and every PORTAL_SWEEP_INTERVAL_SECONDS.
OPERATIONS_RESEND_GRACE = env_int("PORTAL_RESEND_GRACE_SECONDS", 30)
OPERATIONS_SWEEP_INTERVAL = env_int("PORTAL_SWEEP_INTERVAL_SECONDS", 30)
# Every worker that starts sets files and catalog right again (operations/backups/reconcile.py). The test suite turns
# it off: its tests share one backups directory while each resets the catalog, so old dumps would be "found" anew.
RECONCILE_ON_WORKER_START = env_bool("PORTAL_RECONCILE_ON_WORKER_START", True)
# A run's step, or Neo4j's outage, counts as overdue past the last good runs' length times this factor, and never
# before this many seconds (operations/runs/overdue.py): a red status line and an alert.
OVERDUE_FACTOR = env_int("PORTAL_OVERDUE_FACTOR", 3)
OVERDUE_MIN_SECONDS = env_int("PORTAL_OVERDUE_MIN_SECONDS", 300)
# Least privilege (operations/runs/worker_calls.py): a web process that does not reach the target (no Docker socket, no data
# directory) reads the target's state from its worker's report and has its worker plan and request runs, waiting
# this long for the answer.
TARGET_VIA_WORKER = env_bool("PORTAL_TARGET_VIA_WORKER", False)
WORKER_CALL_SECONDS = env_int("PORTAL_WORKER_CALL_SECONDS", 20)
# The Docker target (operations/targets/docker/); the engine itself is found through DOCKER_HOST as docker does.
DOCKER_PROJECT = env_str("PORTAL_DOCKER_PROJECT", "alchemiscale-server")
DOCKER_SERVICE = env_str("PORTAL_DOCKER_SERVICE", "neo4j")
DOCKER_NEO4J_URL = env_str("PORTAL_DOCKER_NEO4J_URL", "")  # when the portal reaches that Neo4j other than NEO4J_URL
NEO4J_ADMIN_IMAGE = env_str("PORTAL_NEO4J_ADMIN_IMAGE", "")
NEO4J_DATA_DIR = env_str("PORTAL_NEO4J_DATA_DIR", "")
DOCKER_BACKUP_HOST_DIR = env_str("PORTAL_DOCKER_BACKUP_HOST_DIR", "")
NEO4J_STOP_TIMEOUT = env_int("PORTAL_NEO4J_STOP_TIMEOUT", 120)
# alchemiscale's CLI on the Docker target: a one-off container of this image on the deployment's database network
# (default "<PORTAL_DOCKER_PROJECT>_db"), as the operations guide runs `database migrate v03-to-v04`.
ALCHEMISCALE_IMAGE = env_str("PORTAL_ALCHEMISCALE_IMAGE", "ghcr.io/openforcefield/alchemiscale-server:v0.4.0")
DOCKER_DB_NETWORK = env_str("PORTAL_DOCKER_DB_NETWORK", "")
# The deployment's compose .env: a Neo4j version switch rewrites its NEO4J_DOCKER_IMAGE line (unset: staff are told).
COMPOSE_ENV_FILE = env_str("PORTAL_COMPOSE_ENV_FILE", "")
# alchemiscale's own services a release upgrade moves onto the new image (operations/upgrades/release.py), found by
# their compose labels in PORTAL_DOCKER_PROJECT; the names of alchemiscale's docker-compose.yml by default. How long
# each may take to answer its healthcheck on the new image before every service is put back on the old one.
ALCHEMISCALE_SERVICES = env_list(
    "PORTAL_ALCHEMISCALE_SERVICES",
    ["alchemiscale-client-API", "alchemiscale-compute-API", "alchemiscale-strategist", "alchemiscale-db-init"],
)
RELEASE_HEALTH_TIMEOUT = env_int("PORTAL_RELEASE_HEALTH_TIMEOUT", 180)

# ---- store migrations (operations/upgrades/) --------------------------------------------------------------
# The command that runs alchemiscale's own schema migrations (`<cli> database migrate v03-to-v04`) on the local
# target (operations/targets/alchemiscale_cli.py). The project's dev and test scripts point it at their stand-in
# (devtools/alchemiscale_standin.py) and set PORTAL_ALCHEMISCALE_CLI_STANDIN, which makes the portal say so on screen
# and in the migration record. The timeout applies on both targets.
ALCHEMISCALE_CLI = env_str("PORTAL_ALCHEMISCALE_CLI", "alchemiscale")
ALCHEMISCALE_CLI_STANDIN = env_bool("PORTAL_ALCHEMISCALE_CLI_STANDIN", False)
ALCHEMISCALE_CLI_TIMEOUT = env_int("PORTAL_ALCHEMISCALE_CLI_TIMEOUT", 3600)

# ---- at a glance: /metrics for Prometheus (glance/metrics.py, docs/metrics.md) ----------------------------
# Off (404) unless a bearer token or an address list is set; with both, a scrape needs both.
METRICS_TOKEN = env_str("PORTAL_METRICS_TOKEN", "")
if METRICS_TOKEN and len(METRICS_TOKEN) < 16:
    raise ImproperlyConfigured("PORTAL_METRICS_TOKEN must have at least 16 characters (a random value)")
try:
    METRICS_ALLOWED = [
        ipaddress.ip_network(text.strip(), strict=False)
        for text in env_list("PORTAL_METRICS_ALLOWED", [])
        if text.strip()
    ]
except ValueError as _exc:  # private: __init__.py star-imports every public name
    raise ImproperlyConfigured(
        f"PORTAL_METRICS_ALLOWED must list addresses or networks, e.g. 127.0.0.1,10.0.0.0/8: {_exc}"
    ) from None
# ---- end of at a glance ------------------------------------------------------------------------------------
