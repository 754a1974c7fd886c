#!/usr/bin/env python3
"""Check deploy/docker-compose.yml for real: bring the portal up beside an alchemiscale-like Neo4j with
docker-compose, and run a backup through the portal's own container.

    python3 scripts/check_docker_deployment.py [--keep]

On the private test engine (scripts/docker_engine.py) with locally built images only (no registry is reachable):
``neo4j:5.26`` from scripts/neo4j_image.py, and a Debian base with python3 and redis-server standing in for
``python:3.11-slim`` and ``redis:7``. Both compose files (the stand-in alchemiscale-server one with just its
``neo4j`` service as alchemiscale writes it, and the portal's own) are used as written except for networking:
every service is put on ``network_mode: host`` listening on 127.0.0.1 (REFERENCE §8: no bridge networks, no
private-range addresses here), which also replaces the service names in NEO4J_URL and REDIS_URL by loopback ports.
Prints what it did and how long each part took; exits non-zero when the backup did not land in the backups
directory. Needs root, docker-compose and PyYAML (Debian's docker-compose brings both).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import docker_engine  # noqa: E402
import neo4j_image  # noqa: E402
from operations.local_neo4j import NEO4J_VERSION  # noqa: E402

BASE_TAG = "alchemiscale-portal-base:bookworm"
BASE_PACKAGES = ("python3", "python3-venv", "redis-server")
SERVER_PROJECT = "portal-check-server"
PORTAL_PROJECT = "portal-check-portal"
DATA_UID = 7474
CA_PATH = "/usr/local/share/portal-check/ca-certificates.crt"

# alchemiscale-server's neo4j service as its compose file writes it (REFERENCE §4).
SERVER_COMPOSE = {
    "version": "3.8",
    "services": {"neo4j": {
        "image": "${NEO4J_DOCKER_IMAGE:-neo4j:5.18}",
        "environment": {"NEO4J_AUTH": "${NEO4J_USER}/${NEO4J_PASS}"},
        "volumes": ["${NEO4J_DATA_STORE}:/var/lib/neo4j/data"],
        "user": "${USER_ID}:${GROUP_ID}",
        "ports": ["7687:7687", "7474:7474"],
        "restart": "unless-stopped",
        "networks": ["db"],
    }},
    "networks": {"db": {}},
}


def log(message: str) -> None:
    print(message, flush=True)


def sh(cmd: list[str], env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise SystemExit(f"error: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}"
                         f"{proc.stderr[-4000:]}")
    return proc


def on_host_network(compose: dict, env_overrides: dict[str, dict[str, str]],
                    command_overrides: dict[str, list[str]]) -> dict:
    """The same compose file with every service on the host's network stack and no networks of its own."""
    compose = yaml.safe_load(yaml.safe_dump(compose))  # deep copy, anchors expanded
    for name, service in compose["services"].items():
        service.pop("networks", None)
        service.pop("ports", None)
        service["network_mode"] = "host"
        if "build" in service:
            service["build"] = {**service["build"], "network": "host", "context": str(ROOT),
                                "args": {"BASE_IMAGE": BASE_TAG}}
        if name in env_overrides:
            service["environment"] = {**(service.get("environment") or {}), **env_overrides[name]}
        if name in command_overrides:
            service["command"] = command_overrides[name]
    compose.pop("networks", None)
    return compose


@contextlib.contextmanager
def timed(timings: dict[str, float], name: str) -> Iterator[None]:
    started = time.monotonic()
    yield
    timings[name] = time.monotonic() - started


def wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=3) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"error: {url} did not answer within {timeout:.0f} s")
        time.sleep(1)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="leave both stacks running afterwards")
    args = parser.parse_args(argv)
    slot = int(os.environ.get("PORTAL_TEST_SLOT", "0") or 0)
    bolt, http, redis, web = (17687 + 100 * slot + 60, 17687 + 100 * slot + 61, 16379 + 100 * slot + 60,
                              18000 + 100 * slot + 60)
    work = ROOT / ".run" / f"deploy-check-{slot}"
    timings: dict[str, float] = {}

    base_started = time.monotonic()
    os.environ["DOCKER_HOST"] = docker_engine.docker_host()
    sh([sys.executable, str(ROOT / "scripts" / "docker_engine.py"), "up", "--user", str(os.getpid())])
    neo4j_tag = neo4j_image.build()[0]
    rootfs = neo4j_image.base_rootfs(packages=BASE_PACKAGES)
    # This machine reaches PyPI through a TLS proxy with its own CA: the stand-in base trusts what the host trusts
    # (python:3.11-slim on a staff machine needs nothing of the kind).
    ca = Path(os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt")
    base_id = f"{rootfs.name}-{hashlib.sha256(ca.read_bytes()).hexdigest()[:12]}"
    if neo4j_image.existing_hash(BASE_TAG) != base_id:
        overlay = neo4j_image.images_dir() / "overlay-portal-base"
        shutil.rmtree(overlay, ignore_errors=True)
        (overlay / CA_PATH.lstrip("/")).parent.mkdir(parents=True)
        shutil.copyfile(ca, overlay / CA_PATH.lstrip("/"))
        neo4j_image.import_image(rootfs, overlay, [BASE_TAG], [
            f"LABEL {neo4j_image.HASH_LABEL}={base_id}", "ENV LANG=C.UTF-8", f"ENV PIP_CERT={CA_PATH}",
            f"ENV SSL_CERT_FILE={CA_PATH}", 'CMD ["/bin/bash"]'])
    timings["base images"] = time.monotonic() - base_started

    # The deployment's .env, with the portal's additions.
    shutil.rmtree(work, ignore_errors=True)
    data, backups = work / "neo4j-data", work / "backups"
    for d in (data, backups):
        d.mkdir(parents=True)
    os.chown(data, DATA_UID, DATA_UID)
    env_file = work / ".env"
    password = secrets.token_urlsafe(12)
    settings = {
        "NEO4J_USER": "neo4j", "NEO4J_PASS": password, "NEO4J_DATA_STORE": data, "USER_ID": DATA_UID,
        "GROUP_ID": DATA_UID, "NEO4J_DOCKER_IMAGE": neo4j_tag, "ALCHEMISCALE_PROJECT": SERVER_PROJECT,
        "PORTAL_SECRET_KEY": secrets.token_urlsafe(40), "PORTAL_BACKUPS_DIR": backups,
        "PORTAL_SSL_REDIRECT": "false", "PORTAL_IMAGE": "alchemiscale-portal:check",
        "PORTAL_REDIS_IMAGE": BASE_TAG, "DOCKER_SOCKET": docker_engine.SOCKET}
    env_file.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))

    server_file = work / "alchemiscale-server.yml"
    server_file.write_text(yaml.safe_dump(on_host_network(SERVER_COMPOSE, {"neo4j": {
        "NEO4J_server_default__listen__address": "127.0.0.1",
        "NEO4J_server_bolt_listen__address": f"127.0.0.1:{bolt}",
        "NEO4J_server_http_listen__address": f"127.0.0.1:{http}",
        "NEO4J_server_memory_heap_max__size": "512m"}}, {})))
    portal = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    loopback = {"NEO4J_URL": f"bolt://127.0.0.1:{bolt}", "REDIS_URL": f"redis://127.0.0.1:{redis}/0"}
    portal_file = work / "portal.yml"
    portal_file.write_text(yaml.safe_dump(on_host_network(
        portal, {"portal-web": {**loopback, "PORTAL_BIND": f"127.0.0.1:{web}"}, "portal-worker": loopback},
        {"portal-redis": ["redis-server", "--bind", "127.0.0.1", "--port", str(redis), "--save", "",
                          "--appendonly", "no"]})))

    # The shell's environment would win over the .env file in compose's interpolation.
    compose_env = {k: v for k, v in os.environ.items() if k not in settings}
    server = ["docker-compose", "--env-file", str(env_file), "-p", SERVER_PROJECT, "-f", str(server_file)]
    portal_cmd = ["docker-compose", "--env-file", str(env_file), "-p", PORTAL_PROJECT, "-f", str(portal_file)]
    try:
        with timed(timings, "alchemiscale-server neo4j up"):
            sh([*server, "up", "-d"], env=compose_env)
            wait_http(f"http://127.0.0.1:{http}/", 240)
        log(f"alchemiscale-server stand-in: Neo4j {NEO4J_VERSION} up on 127.0.0.1:{bolt}")
        with timed(timings, "portal image build"):
            sh([*portal_cmd, "build"], env=compose_env)
        with timed(timings, "portal up"):
            sh([*portal_cmd, "up", "-d"], env=compose_env)
            wait_http(f"http://127.0.0.1:{web}/admin/login/", 240)
        log(f"portal web answers on http://127.0.0.1:{web}/admin/login/")
        with timed(timings, "backup through the portal container"):
            proc = sh([*portal_cmd, "exec", "-T", "portal-web", "python", "manage.py", "backup", "--timeout", "600"],
                      env=compose_env, check=False)
        log(proc.stdout.strip() or proc.stderr.strip())
        dumps = sorted(backups.glob("neo4j-*.dump"))
        status = sh(["docker", "inspect", "-f", "{{.State.Status}}", f"{SERVER_PROJECT}_neo4j_1"]).stdout.strip()
        ok = proc.returncode == 0 and len(dumps) == 1 and dumps[0].stat().st_uid == DATA_UID and status == "running"
        log(f"backups directory: {[d.name for d in dumps]}; Neo4j container {status}")
    finally:
        if not args.keep:
            sh([*portal_cmd, "down", "-v"], env=compose_env, check=False)
            sh([*server, "down"], env=compose_env, check=False)
        sh([sys.executable, str(ROOT / "scripts" / "docker_engine.py"), "down", "--user", str(os.getpid())],
           check=False)
    for name, seconds in timings.items():
        log(f"{name}: {seconds:.1f} s")
    log("deployment check " + ("passed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
