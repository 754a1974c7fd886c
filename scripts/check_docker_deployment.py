#!/usr/bin/env python3
"""Check deploy/docker-compose.yml for real: bring the portal up beside an alchemiscale-like Neo4j with
docker-compose, and run a backup through the portal's own container.

    python3 scripts/check_docker_deployment.py [--keep] [--report FILE.json]

Run it where ``scripts/test.sh`` runs the suite (it joins the same private engine, scripts/docker_engine.py); needs
root, docker-compose and PyYAML (Debian's ``docker-compose`` and ``python3-yaml``, which ``make test`` installs).
``PORTAL_TEST_SLOT=N`` gives it that slot's ports, compose project names and work directory
(``.run/deploy-check-N``), so it can run beside other slots' suites. ``tests/test_deployment.py`` runs it in the suite.

Only locally built images (no registry is reachable): ``neo4j:5.26`` from scripts/neo4j_image.py, and a Debian base
with python3 and redis-server standing in for ``python:3.11-slim`` and ``redis:7``. Both compose files (the stand-in
alchemiscale-server one with just its ``neo4j`` service as alchemiscale writes it, and the portal's own) are used as
written except for networking: every service is put on ``network_mode: host`` listening on 127.0.0.1 (docs/facts.md:
no bridge networks, no private-range addresses here), which also replaces the service names in NEO4J_URL and
REDIS_URL by loopback ports (and Redis's port in its healthcheck). docker-compose sees only the deployment's
``.env`` file, never this shell's variables.

The named steps (functions below) are what a staff member would do and look at: start alchemiscale's Neo4j, build
and start the portal, check that the admin's login page and its static files answer, add an identity through the
portal's container, ask for a backup there (the portal's worker carries it out), then look at the backups directory
on disk (the dump and the portal database's copy), the Neo4j container and the identity, check that Redis runs
append-only on its volume and keeps a key over a restart of its container, wait until every portal service's
healthcheck reports healthy, and finally take everything down and look for anything left behind.
Prints what it did and how long each part took, and the containers' logs when something failed; ``--report`` writes
the findings as JSON. Exits non-zero when any finding is wrong.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

try:
    import yaml
except ImportError:  # tests/test_deployment.py imports the names below from the virtualenv; running needs PyYAML
    yaml = None

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import docker_engine  # noqa: E402
import neo4j_image  # noqa: E402

from devtools.local_neo4j import NEO4J_VERSION  # noqa: E402

BASE_TAG = "alchemiscale-portal-base:bookworm"
BASE_PACKAGES = neo4j_image.PYTHON_BASE_PACKAGES
#: the data owner of the stand-in deployment (USER_ID:GROUP_ID; the official image's neo4j user id)
DATA_UID = 7474
CA_PATH = "/usr/local/share/portal-check/ca-certificates.crt"
#: docker-compose's own labels (v1 puts them on containers, networks and volumes alike)
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
IDENTITY = "deploy-check"
IDENTITY_SCOPE = "deploycheck-portal-backup"
#: generous bounds for a slow machine; nothing asserts how long anything took
START_TIMEOUT = 300
BACKUP_TIMEOUT = 900
# Docker 20.10 runs a first healthcheck only one interval (30 s for web and worker) after the start.
HEALTH_TIMEOUT = 240

# alchemiscale-server's neo4j service as its compose file writes it (docs/facts.md).
SERVER_COMPOSE = {
    "version": "3.8",
    "services": {
        "neo4j": {
            "image": "${NEO4J_DOCKER_IMAGE:-neo4j:5.18}",
            "environment": {"NEO4J_AUTH": "${NEO4J_USER}/${NEO4J_PASS}"},
            "volumes": ["${NEO4J_DATA_STORE}:/var/lib/neo4j/data"],
            "user": "${USER_ID}:${GROUP_ID}",
            "ports": ["7687:7687", "7474:7474"],
            "restart": "unless-stopped",
            "networks": ["db"],
        }
    },
    "networks": {"db": {}},
}


class CheckFailed(Exception):
    """A step could not be carried out; the message says which and why."""


def log(message: str) -> None:
    print(message, flush=True)


def sh(
    cmd: list[str], env: dict[str, str] | None = None, check: bool = True, timeout: float | None = None
) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise CheckFailed(f"{' '.join(cmd)} did not finish within {timeout:.0f} s") from exc
    if check and proc.returncode != 0:
        raise CheckFailed(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}{proc.stderr[-4000:]}")
    return proc


@dataclasses.dataclass
class Deployment:
    """One check's two compose projects, their ports and files; everything else derives from the slot."""

    slot: int
    work: Path
    neo4j_tag: str = ""

    @property
    def ports(self) -> dict[str, int]:
        # Beside the slot's own services (+0) and the Docker-target tests' Neo4j (+50, +51).
        s = 100 * self.slot
        return {"bolt": 17687 + s + 60, "http": 17687 + s + 61, "redis": 16379 + s + 60, "web": 18000 + s + 60}

    @property
    def server_project(self) -> str:
        return f"portal-check-{self.slot}-server"

    @property
    def portal_project(self) -> str:
        return f"portal-check-{self.slot}-portal"

    @property
    def portal_image(self) -> str:
        # Per slot: two slots building from different trees must not retag each other's image under their feet.
        return f"alchemiscale-portal:check-{self.slot}"

    @property
    def data_dir(self) -> Path:
        return self.work / "neo4j-data"

    @property
    def backups_dir(self) -> Path:
        return self.work / "backups"

    @property
    def env_file(self) -> Path:
        return self.work / ".env"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['web']}"

    @property
    def compose_env(self) -> dict[str, str]:
        # Compose's interpolation prefers the shell's variables to the .env file: give it none that could differ
        # (scripts/test.sh exports NEO4J_PASS and others for the suite's own services).
        env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "HOME": os.environ.get("HOME", "/"),
            "DOCKER_HOST": docker_engine.docker_host(),
        }
        return env

    def compose(self, project: str) -> list[str]:
        file = self.work / ("alchemiscale-server.yml" if project == self.server_project else "portal.yml")
        return ["docker-compose", "--env-file", str(self.env_file), "-p", project, "-f", str(file)]

    def server(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return sh([*self.compose(self.server_project), *args], env=self.compose_env, **kw)

    def portal(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return sh([*self.compose(self.portal_project), *args], env=self.compose_env, **kw)

    def manage(self, *args: str, **kw) -> subprocess.CompletedProcess:
        """``manage.py`` in the running portal-web container, as docs/deploying.md tells staff to run it."""
        return self.portal("exec", "-T", "portal-web", "python", "manage.py", *args, **kw)


def on_host_network(
    compose: dict, env_overrides: dict[str, dict[str, str]], command_overrides: dict[str, list[str]]
) -> dict:
    """The same compose file with every service on the host's network stack and no networks of its own."""
    compose = yaml.safe_load(yaml.safe_dump(compose))  # deep copy, anchors expanded
    for name, service in compose["services"].items():
        service.pop("networks", None)
        service.pop("ports", None)
        service["network_mode"] = "host"
        if "build" in service:
            service["build"] = {
                **service["build"],
                "network": "host",
                "context": str(ROOT),
                "args": {"BASE_IMAGE": BASE_TAG},
            }
        if name in env_overrides:
            service["environment"] = {**(service.get("environment") or {}), **env_overrides[name]}
        if name in command_overrides:
            service["command"] = command_overrides[name]
    compose.pop("networks", None)
    return compose


@contextlib.contextmanager
def timed(timings: dict[str, float], name: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        timings[name] = round(time.monotonic() - started, 1)


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def wait_http(url: str, timeout: float) -> tuple[int, str]:
    """The first 200 answer of ``url``; CheckFailed when there is none within ``timeout``."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        try:
            status, body = http_get(url)
            if status == 200:
                return status, body
            last = f"HTTP {status}"
        except OSError as exc:
            last = str(exc)
        if time.monotonic() > deadline:
            raise CheckFailed(f"{url} did not answer 200 within {timeout:.0f} s (last: {last})")
        time.sleep(1)


def docker(*args: str, **kw) -> subprocess.CompletedProcess:
    return sh([neo4j_image.docker_cli(), *args], env=neo4j_image.docker_env(), **kw)


def image_id(tag: str) -> str | None:
    proc = docker("image", "inspect", "--format", "{{.Id}}", tag, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


# --- the named steps -------------------------------------------------------------------------------------------


def prepare_base_images() -> str:
    """``neo4j:5.26`` and the stand-in Python base, built once (under the image builders' lock) and then reused."""
    with neo4j_image.build_lock():  # other slots' suites may be building the same images right now
        neo4j_tag = neo4j_image.build()[0]
        rootfs = neo4j_image.base_rootfs(packages=BASE_PACKAGES)
        # This machine reaches PyPI through a TLS proxy with its own CA: the stand-in base trusts what the host
        # trusts (python:3.11-slim on a staff machine needs nothing of the kind).
        ca = Path(os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt")
        base_id = f"{rootfs.name}-{hashlib.sha256(ca.read_bytes()).hexdigest()[:12]}"
        if neo4j_image.existing_hash(BASE_TAG) != base_id:
            overlay = neo4j_image.images_dir() / "overlay-portal-base"
            shutil.rmtree(overlay, ignore_errors=True)
            (overlay / CA_PATH.lstrip("/")).parent.mkdir(parents=True)
            shutil.copyfile(ca, overlay / CA_PATH.lstrip("/"))
            neo4j_image.import_image(
                rootfs,
                overlay,
                [BASE_TAG],
                [
                    f"LABEL {neo4j_image.HASH_LABEL}={base_id}",
                    "ENV LANG=C.UTF-8",
                    f"ENV PIP_CERT={CA_PATH}",
                    f"ENV SSL_CERT_FILE={CA_PATH}",
                    'CMD ["/bin/bash"]',
                ],
            )
    return neo4j_tag


def write_deployment(dep: Deployment) -> None:
    """The deployment's directories and ``.env`` (its own names plus the portal's), and both compose files."""
    shutil.rmtree(dep.work, ignore_errors=True)
    for d in (dep.data_dir, dep.backups_dir):
        d.mkdir(parents=True)
    os.chown(dep.data_dir, DATA_UID, DATA_UID)
    settings = {
        "NEO4J_USER": "neo4j",
        "NEO4J_PASS": "p" + secrets.token_urlsafe(12),
        "NEO4J_DATA_STORE": dep.data_dir,
        "USER_ID": DATA_UID,
        "GROUP_ID": DATA_UID,
        "NEO4J_DOCKER_IMAGE": dep.neo4j_tag,
        "ALCHEMISCALE_PROJECT": dep.server_project,
        "PORTAL_SECRET_KEY": secrets.token_urlsafe(40),
        "PORTAL_BACKUPS_DIR": dep.backups_dir,
        "PORTAL_SSL_REDIRECT": "false",
        "PORTAL_IMAGE": dep.portal_image,
        "PORTAL_REDIS_IMAGE": BASE_TAG,
        "DOCKER_SOCKET": docker_engine.SOCKET,
    }
    dep.env_file.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))

    p = dep.ports
    (dep.work / "alchemiscale-server.yml").write_text(
        yaml.safe_dump(
            on_host_network(
                SERVER_COMPOSE,
                {
                    "neo4j": {
                        "NEO4J_server_default__listen__address": "127.0.0.1",
                        "NEO4J_server_bolt_listen__address": f"127.0.0.1:{p['bolt']}",
                        "NEO4J_server_http_listen__address": f"127.0.0.1:{p['http']}",
                        "NEO4J_server_memory_heap_max__size": "512m",
                        "NEO4J_server_memory_pagecache_size": "128m",
                        # A throw-away store: no 250 MB of preallocated transaction log per check.
                        "NEO4J_db_tx__log_preallocate": "false",
                        "NEO4J_db_tx__log_rotation_size": "1M",
                    }
                },
                {},
            )
        )
    )
    portal = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    loopback = {"NEO4J_URL": f"bolt://127.0.0.1:{p['bolt']}", "REDIS_URL": f"redis://127.0.0.1:{p['redis']}/0"}
    # Redis as the file runs it (persistence and all), only listening on the slot's loopback port; its healthcheck
    # asks that port.
    redis = portal["services"]["portal-redis"]
    redis_command = [*redis["command"], "--bind", "127.0.0.1", "--port", str(p["redis"])]
    if "redis-cli ping" not in redis["healthcheck"]["test"][-1]:
        raise CheckFailed(f"portal-redis's healthcheck is not `redis-cli ping`: {redis['healthcheck']}")
    redis["healthcheck"]["test"][-1] = redis["healthcheck"]["test"][-1].replace(
        "redis-cli ping", f"redis-cli -p {p['redis']} ping"
    )
    (dep.work / "portal.yml").write_text(
        yaml.safe_dump(
            on_host_network(
                portal,
                {
                    "portal-web": {**loopback, "PORTAL_BIND": f"127.0.0.1:{p['web']}"},
                    "portal-worker": loopback,
                    "portal-beat": loopback,
                },
                {"portal-redis": redis_command},
            )
        )
    )


def start_server(dep: Deployment) -> None:
    dep.server("up", "-d")
    wait_http(f"http://127.0.0.1:{dep.ports['http']}/", START_TIMEOUT)
    log(f"alchemiscale-server stand-in: Neo4j {NEO4J_VERSION} up on 127.0.0.1:{dep.ports['bolt']}")


def build_portal(dep: Deployment) -> None:
    """``docker-compose build``; the image it replaces is removed so repeated checks do not pile up images."""
    before = image_id(dep.portal_image)
    dep.portal("build", timeout=1800)
    if before and before != image_id(dep.portal_image):
        docker("rmi", before, check=False)


def start_portal(dep: Deployment) -> dict:
    """Start web, worker and Redis; what staff would see first: the login page and its stylesheet."""
    dep.portal("up", "-d")
    status, body = wait_http(f"{dep.web_url}/admin/login/", START_TIMEOUT)
    css_status, css = http_get(f"{dep.web_url}/static/admin/css/base.css")
    web = {
        "login_status": status,
        "login_form": 'name="username"' in body and 'name="password"' in body,
        "static_status": css_status,
        "static_is_css": "body" in css,
    }
    log(f"portal web answers on {dep.web_url}/admin/login/: {web}")
    return web


def add_identity(dep: Deployment) -> str:
    """Data in the store before the backup: an identity added through the portal's container."""
    proc = dep.manage(
        "identity", "add", "-t", "user", "-i", IDENTITY, "-s", IDENTITY_SCOPE, "-k", secrets.token_hex(32)
    )
    return proc.stdout.strip().splitlines()[0]


def backup_through_portal(dep: Deployment) -> dict:
    """``manage.py backup`` in portal-web: it asks, the portal-worker container's Celery worker carries it out."""
    proc = dep.manage("backup", "--timeout", str(BACKUP_TIMEOUT), check=False, timeout=BACKUP_TIMEOUT + 120)
    output = (proc.stdout + proc.stderr).strip()
    log(output)
    worker_log = dep.portal("logs", "--no-color", "portal-worker", check=False).stdout
    # Celery's own line for the task; it "succeeded" (did not raise) whatever the run's outcome, which it returns.
    ran = [
        line.strip()
        for line in worker_log.splitlines()
        if "operations.run_operation[" in line and " succeeded in " in line and line.rstrip().endswith(": 'succeeded'")
    ]
    return {"returncode": proc.returncode, "output": output, "worker_task_lines": ran}


def release_overview_through_portal(dep: Deployment) -> dict:
    """``manage.py upgrade-release`` (the release page's overview) in portal-web, which has no Docker socket: its
    worker looks at alchemiscale's containers and answers (here the stand-in runs Neo4j alone: the four services are
    "not found", Neo4j "left alone")."""
    proc = dep.manage("upgrade-release", check=False, timeout=180)
    output = (proc.stdout + proc.stderr).strip()
    log(f"manage.py upgrade-release in portal-web ({proc.returncode}): {output}")
    # With a tag: the prechecks and the plan, also the worker's (they fail here: no alchemiscale service to move).
    planned = dep.manage("upgrade-release", "v9.9.9", "--plan", check=False, timeout=180)
    plan = (planned.stdout + planned.stderr).strip()
    log(f"manage.py upgrade-release v9.9.9 --plan in portal-web ({planned.returncode}): {plan}")
    return {"returncode": proc.returncode, "output": output, "plan_returncode": planned.returncode, "plan": plan}


def look_at_results(dep: Deployment) -> dict:
    """The backups directory on disk, the Neo4j container (found by its compose labels) and the identity."""
    dumps = [
        {"name": d.name, "size": d.stat().st_size, "uid": d.stat().st_uid, "gid": d.stat().st_gid}
        for d in sorted(dep.backups_dir.glob("*"))
    ]
    ids = docker(
        "ps",
        "-a",
        "-q",
        "--filter",
        f"label={PROJECT_LABEL}={dep.server_project}",
        "--filter",
        f"label={SERVICE_LABEL}=neo4j",
    ).stdout.split()
    states = [docker("inspect", "-f", "{{.State.Status}}", cid).stdout.strip() for cid in ids]
    listed = dep.manage("identity", "list", check=False)
    scopes = dep.manage("identity", "list-scope", "-i", IDENTITY, check=False)
    results = {
        "dumps": dumps,
        "neo4j_states": states,
        "identities_after": listed.stdout.split() if listed.returncode == 0 else [],
        "scopes_after": scopes.stdout.split() if scopes.returncode == 0 else [],
        "identity_list_error": "" if listed.returncode == 0 else (listed.stdout + listed.stderr)[-2000:],
    }
    log(f"backups directory: {dumps}; Neo4j container(s): {states}; identities: {results['identities_after']}")
    return results


def redis_keeps_data(dep: Deployment) -> dict:
    """Redis runs append-only on its named volume, and a key written before a restart of its container is there
    after it (what keeps a requested operation's message when Redis restarts)."""

    def cli(*args: str) -> str:
        return dep.portal(
            "exec", "-T", "portal-redis", "redis-cli", "-p", str(dep.ports["redis"]), *args, check=False
        ).stdout.split()

    cid = dep.portal("ps", "-q", "portal-redis").stdout.strip()
    mounts = json.loads(docker("inspect", "-f", "{{json .Mounts}}", cid).stdout) if cid else []
    found = {
        "appendonly": cli("config", "get", "appendonly")[-1:],
        "dir": cli("config", "get", "dir")[-1:],
        "data_mounts": [
            {"type": m.get("Type"), "name": m.get("Name"), "destination": m.get("Destination")}
            for m in mounts
            if m.get("Destination") == "/data"
        ],
    }
    marker = secrets.token_hex(8)
    cli("set", "portal-check-marker", marker)
    dep.portal("restart", "portal-redis")
    deadline = time.monotonic() + 60
    while (after := cli("get", "portal-check-marker")) != [marker] and time.monotonic() < deadline:
        time.sleep(1)
    found["marker_after_restart"] = after == [marker]
    log(f"portal-redis: {found}")
    return found


PORTAL_SERVICES = ("portal-web", "portal-worker", "portal-beat")
SOCKET_PATH = "/var/run/docker.sock"


def _destination(volume: str) -> str:
    parts = volume.split(":")
    return parts[-2] if parts[-1] in ("ro", "rw") and len(parts) > 2 else parts[-1]


def compose_privileges(compose: dict | None = None) -> dict[str, dict]:
    """Read from deploy/docker-compose.yml itself: which portal service mounts the Docker socket, the Neo4j data
    directory (NEO4J_DATA_STORE) and the backups directory (and whether read-only), and as which user it runs."""
    if compose is None:
        compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    found = {}
    for name in PORTAL_SERVICES:
        service = compose["services"][name]
        volumes = [
            v if isinstance(v, str) else f"{v.get('source', '')}:{v.get('target', '')}"
            for v in service.get("volumes", [])
        ]
        found[name] = {
            "socket": any(_destination(v) == SOCKET_PATH for v in volumes),
            "data": any("NEO4J_DATA_STORE" in v for v in volumes),
            "backups": next(("ro" if v.endswith(":ro") else "rw" for v in volumes if "PORTAL_BACKUPS_DIR" in v), None),
            "user": str(service.get("user", "image")),
            "via_worker": str((service.get("environment") or {}).get("PORTAL_TARGET_VIA_WORKER", "")).lower(),
        }
    return found


def running_privileges(dep: Deployment) -> dict[str, dict]:
    """The same, asked of the running containers: their mounts (as the engine has them) and `id -u` inside."""
    found = {}
    for name in PORTAL_SERVICES:
        cid = dep.portal("ps", "-q", name).stdout.strip()
        mounts = json.loads(docker("inspect", "-f", "{{json .Mounts}}", cid).stdout) if cid else []
        uid = dep.portal("exec", "-T", name, "id", "-u", check=False).stdout.strip()
        found[name] = {
            "socket": any(m.get("Destination") == SOCKET_PATH for m in mounts),
            "data": any(m.get("Destination") == str(dep.data_dir) for m in mounts),
            "backups": next(
                ("rw" if m.get("RW") else "ro" for m in mounts if m.get("Destination") == str(dep.backups_dir)), None
            ),
            "uid": uid,
        }
    log(f"privileges of the running portal containers: {found}")
    return found


def privilege_findings(running: dict[str, dict]) -> list[str]:
    wrong = []
    for name, seen in running.items():
        worker = name == "portal-worker"
        if seen["socket"] != worker:
            wrong.append(f"{name} {'lacks' if worker else 'has'} the Docker socket")
        if seen["data"] != worker:
            wrong.append(f"{name} {'lacks' if worker else 'has'} the Neo4j data directory")
        if not worker and seen["uid"] in ("0", ""):
            wrong.append(f"{name} runs as root (uid {seen['uid']!r})")
    if running.get("portal-web", {}).get("backups") != "ro":
        wrong.append(f"portal-web should see the backups directory read-only: {running.get('portal-web')}")
    return wrong


def wait_healthy(dep: Deployment, timeout: float = HEALTH_TIMEOUT) -> dict[str, str]:
    """Every portal service's Docker healthcheck status, waiting until all are healthy (or the timeout)."""
    services = ("portal-web", "portal-worker", "portal-redis", "portal-beat")
    deadline = time.monotonic() + timeout
    while True:
        states = {}
        for service in services:
            cid = dep.portal("ps", "-q", service).stdout.strip()
            proc = (
                docker(
                    "inspect", "-f", "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}", cid, check=False
                )
                if cid
                else None
            )
            states[service] = proc.stdout.strip() if proc and proc.returncode == 0 else "no container"
        if all(v == "healthy" for v in states.values()) or time.monotonic() > deadline:
            log(f"healthchecks: {states}")
            return states
        time.sleep(2)


def container_logs(dep: Deployment) -> str:
    parts = []
    for run, name in ((dep.server, dep.server_project), (dep.portal, dep.portal_project)):
        proc = run("logs", "--no-color", "--tail", "150", check=False)
        parts.append(f"--- logs of compose project {name} ---\n{proc.stdout}{proc.stderr}")
    return "\n".join(parts)


def tear_down(dep: Deployment) -> None:
    dep.portal("down", "-v", "--remove-orphans", check=False)
    dep.server("down", "-v", "--remove-orphans", check=False)


def leftovers(dep: Deployment) -> dict[str, list[str]]:
    """Containers, networks and volumes of the check's compose projects still on the engine."""
    found: dict[str, list[str]] = {}
    for kind, listing in (
        ("containers", ["ps", "-a", "--format", "{{.Names}}"]),
        ("networks", ["network", "ls", "--format", "{{.Name}}"]),
        ("volumes", ["volume", "ls", "--format", "{{.Name}}"]),
    ):
        for project in (dep.server_project, dep.portal_project):
            names = docker(*listing, "--filter", f"label={PROJECT_LABEL}={project}").stdout.split()
            found.setdefault(kind, []).extend(names)
    return found


def remove_leftovers(dep: Deployment) -> None:
    left = leftovers(dep)
    if left["containers"]:
        docker("rm", "-f", "-v", *left["containers"], check=False)
    if left["networks"]:
        docker("network", "rm", *left["networks"], check=False)
    if left["volumes"]:
        docker("volume", "rm", "-f", *left["volumes"], check=False)


def findings(dep: Deployment, report: dict) -> list[str]:
    """What is wrong, in words; empty when the deployment did everything a staff member would check."""
    wrong = []
    web = report.get("web") or {}
    if web.get("login_status") != 200 or not web.get("login_form"):
        wrong.append(f"the admin's login page did not answer with a login form: {web}")
    if web.get("static_status") != 200 or not web.get("static_is_css"):
        wrong.append(f"the admin's static files are not served: {web}")
    backup = report.get("backup") or {}
    if backup.get("returncode") != 0 or "succeeded" not in backup.get("output", ""):
        wrong.append(
            f"manage.py backup in portal-web did not succeed ({backup.get('returncode')}): "
            f"{backup.get('output', '')[-2000:]}"
        )
    release = report.get("release")
    if release is not None and (release.get("returncode") != 0 or "left alone: neo4j" not in release.get("output", "")):
        wrong.append(f"the release overview in portal-web did not come from its worker: {release}")
    if backup and not backup.get("worker_task_lines"):
        wrong.append("the portal-worker container's log shows no finished operations.run_operation task")
    res = report.get("results") or {}
    files = res.get("dumps", [])
    dumps = [f for f in files if f["name"].endswith(".dump")]
    copies = [f for f in files if f["name"].endswith(".portal.sqlite3")]
    if len(dumps) != 1 or not dumps[0]["name"].startswith("neo4j-"):
        wrong.append(f"the backups directory should hold exactly one neo4j-<date>.dump, holds {files}")
    elif (dumps[0]["uid"], dumps[0]["gid"]) != (DATA_UID, DATA_UID) or dumps[0]["size"] == 0:
        wrong.append(f"the dump should be non-empty and owned by the data owner {DATA_UID}:{DATA_UID}: {dumps[0]}")
    elif (
        [c["name"] for c in copies] != [dumps[0]["name"].replace(".dump", ".portal.sqlite3")]
        or copies[0]["size"] == 0
        or len(files) != 2
    ):
        wrong.append(f"beside the dump there should be exactly the portal database's copy, named after it: {files}")
    redis = report.get("redis")
    if res and (
        not redis
        or redis.get("appendonly") != ["yes"]
        or redis.get("dir") != ["/data"]
        or [m["type"] for m in redis.get("data_mounts", [])] != ["volume"]
        or not redis.get("marker_after_restart")
    ):
        wrong.append(
            f"portal-redis should run append-only in /data on a named volume and keep its data over a restart: {redis}"
        )
    if res:
        wrong.extend(
            privilege_findings(report.get("privileges") or {})
            if report.get("privileges")
            else ["the portal containers' privileges were not looked at"]
        )
    health = report.get("health")
    if res and (not health or set(health.values()) != {"healthy"}):
        wrong.append(f"every portal service should report healthy: {health}")
    if res and res.get("neo4j_states") != ["running"]:
        wrong.append(f"the Neo4j container should be running again, found {res.get('neo4j_states')}")
    if res and (IDENTITY not in res.get("identities_after", []) or res.get("scopes_after") != [IDENTITY_SCOPE]):
        wrong.append(
            f"the identity added before the backup is not in the store afterwards: "
            f"{res.get('identities_after')} {res.get('scopes_after')} {res.get('identity_list_error')}"
        )
    left = report.get("leftovers")
    if left is None:
        wrong.append("the check could not look for leftovers")
    elif any(left.values()):
        wrong.append(f"left behind after docker-compose down: {left}")
    if report.get("error"):
        wrong.insert(0, report["error"])
    return wrong


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave both stacks running afterwards (and the engine, while the calling shell lives)",
    )
    parser.add_argument("--report", type=Path, help="write the findings, timings and (on failure) logs as JSON")
    args = parser.parse_args(argv)
    if yaml is None:
        raise SystemExit("error: PyYAML is missing: apt-get install python3-yaml (make test installs it)")
    if shutil.which("docker-compose") is None:
        raise SystemExit("error: docker-compose is missing: apt-get install docker-compose (make test installs it)")
    slot = int(os.environ.get("PORTAL_TEST_SLOT", "0") or 0)
    dep = Deployment(slot=slot, work=ROOT / ".run" / f"deploy-check-{slot}")
    timings: dict[str, float] = {}
    report: dict = {
        "slot": slot,
        "server_project": dep.server_project,
        "portal_project": dep.portal_project,
        "work": str(dep.work),
        "data_uid": DATA_UID,
        "timings": timings,
    }

    os.environ["DOCKER_HOST"] = docker_engine.docker_host()
    # The engine is held up by this process, or with --keep by the calling shell, for a look at the kept stacks.
    engine_user = str(os.getppid() if args.keep else os.getpid())
    sh([sys.executable, str(ROOT / "scripts" / "docker_engine.py"), "up", "--user", engine_user])
    try:
        with timed(timings, "base images"):
            dep.neo4j_tag = prepare_base_images()
        remove_leftovers(dep)  # whatever a killed earlier check of this slot left behind
        write_deployment(dep)
        with timed(timings, "alchemiscale-server neo4j up"):
            start_server(dep)
        with timed(timings, "portal image build"):
            build_portal(dep)
        with timed(timings, "portal up"):
            report["web"] = start_portal(dep)
        report["identity"] = add_identity(dep)
        with timed(timings, "backup through the portal container"):
            report["backup"] = backup_through_portal(dep)
        report["results"] = look_at_results(dep)
        with timed(timings, "release overview through the portal container"):
            report["release"] = release_overview_through_portal(dep)
        with timed(timings, "redis restart"):
            report["redis"] = redis_keeps_data(dep)
        with timed(timings, "healthchecks"):
            report["health"] = wait_healthy(dep)
        report["privileges"] = running_privileges(dep)
    except (CheckFailed, neo4j_image.BuildError, OSError) as exc:
        report["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        try:
            if findings(dep, {**report, "leftovers": {}}):
                report["logs"] = container_logs(dep)
            if not args.keep:
                with timed(timings, "down"):
                    tear_down(dep)
                report["leftovers"] = leftovers(dep)
        finally:
            if not args.keep:
                sh(
                    [sys.executable, str(ROOT / "scripts" / "docker_engine.py"), "down", "--user", engine_user],
                    check=False,
                )
    if args.keep:
        report["leftovers"] = {}
    report["findings"] = findings(dep, report)
    if not report["findings"] and not args.keep:
        # The store is only the check's own; the backups directory, .env and compose files stay for a look.
        shutil.rmtree(dep.data_dir, ignore_errors=True)
    if args.report:
        args.report.write_text(json.dumps(report, indent=2, default=str) + "\n")
    if report.get("logs"):
        log(report["logs"])
    for name, seconds in timings.items():
        log(f"{name}: {seconds:.1f} s")
    for problem in report["findings"]:
        log(f"FAILED: {problem}")
    log("deployment check " + ("FAILED" if report["findings"] else "passed"))
    return 1 if report["findings"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
