"""The deployment staff run (docs/deploying.md), for real, in the suite.

``scripts/check_docker_deployment.py`` brings up a stand-in alchemiscale-server Neo4j and the portal's
``deploy/docker-compose.yml`` (web, worker, Redis, built from the ``Dockerfile``) with docker-compose on the suite's
private engine, with this slot's ports and compose project names, and asks for a backup through the portal's own
container. It runs once here, as a subprocess of Debian's python3 (it needs PyYAML, which the virtualenv does not
have); the tests below then check what a staff member would look at, reading the disk and the engine themselves
where they can rather than trusting the script's report. The only stand-ins are the images no registry can give
here: Neo4j (scripts/neo4j_image.py) and the Debian base in place of python:3.11-slim and redis:7.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from operations.targets.docker import JOB_LABEL, PROJECT_LABEL
from tests.docker_fixtures import docker_client

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "check_docker_deployment.py"
# Debian's interpreter: python3-yaml is installed for it by `make test` (scripts/bootstrap.sh).
SYSTEM_PYTHON = os.environ.get("PORTAL_SYSTEM_PYTHON", "/usr/bin/python3")
# A bound only against a hung engine: a cold check (images built from scratch) takes about three minutes.
CHECK_TIMEOUT = 3600

sys.path.insert(0, str(ROOT / "scripts"))
import check_docker_deployment as check  # noqa: E402


def _slot() -> int:
    return int(os.environ.get("PORTAL_TEST_SLOT", "0") or 0)


def _what_the_engine_holds(client, dep: check.Deployment) -> dict[str, list[str]]:
    """Containers (neo4j-admin jobs included), networks and volumes of the check's two compose projects."""
    projects = (dep.server_project, dep.portal_project)
    labels = [f"{PROJECT_LABEL}={p}" for p in projects] + [f"{JOB_LABEL}={dep.server_project}/neo4j"]
    containers = [c.name for label in labels for c in client.containers.list(all=True, filters={"label": label})]
    networks = [n.name for p in projects for n in client.networks.list(filters={"label": f"{PROJECT_LABEL}={p}"})]
    volumes = [v.name for p in projects for v in client.volumes.list(filters={"label": f"{PROJECT_LABEL}={p}"})]
    return {"containers": containers, "networks": networks, "volumes": volumes}


def _remove(client, held: dict[str, list[str]]) -> None:
    import docker.errors

    for kind, remove in (
        ("containers", lambda n: client.containers.get(n).remove(force=True, v=True)),
        ("networks", lambda n: client.networks.get(n).remove()),
        ("volumes", lambda n: client.volumes.get(n).remove(force=True)),
    ):
        for name in held[kind]:
            try:
                remove(name)
            except docker.errors.NotFound:  # gone meanwhile (a restart policy's container removed with its project)
                pass


class Outcome:
    """What one run of the check left: its output, its JSON report, and what the engine still held after it."""

    def __init__(self, dep: check.Deployment, proc: subprocess.CompletedProcess, report: dict, left: dict):
        self.dep, self.proc, self.report, self.left = dep, proc, report, left

    def why(self) -> str:
        """For assertion messages: the check's findings and the tail of its output (with the containers' logs)."""
        return (
            f"\ncheck exited {self.proc.returncode}; findings: {self.report.get('findings')}\n"
            f"--- its output (tail) ---\n{(self.proc.stdout + self.proc.stderr)[-12000:]}"
        )


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> Outcome:
    dep = check.Deployment(slot=_slot(), work=ROOT / ".run" / f"deploy-check-{_slot()}")
    report_path = tmp_path_factory.mktemp("deploy-check") / "report.json"
    client = docker_client()
    try:
        try:
            proc = subprocess.run(
                [SYSTEM_PYTHON, str(SCRIPT), "--report", str(report_path)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=CHECK_TIMEOUT,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(
                f"the deployment check did not finish within {CHECK_TIMEOUT} s:\n{(exc.stdout or b'')[-8000:]!r}"
            )
        if not report_path.exists():
            pytest.fail(
                f"the deployment check wrote no report (exit {proc.returncode}):\n"
                f"{proc.stdout[-8000:]}{proc.stderr[-8000:]}"
            )
        yield Outcome(dep, proc, json.loads(report_path.read_text()), _what_the_engine_holds(client, dep))
    finally:
        # Should the check have been killed before its own `docker-compose down`.
        _remove(client, _what_the_engine_holds(client, dep))


def test_the_check_passes(deployment: Outcome):
    assert deployment.proc.returncode == 0 and deployment.report["findings"] == [], deployment.why()


def test_the_release_overview_in_portal_web_comes_from_its_worker(deployment: Outcome):
    """portal-web has no Docker socket: `manage.py upgrade-release` (the release page's overview) is answered by the
    worker, which finds the stand-in's Neo4j and none of alchemiscale's four services."""
    release = deployment.report["release"]
    assert release["returncode"] == 0 and "left alone: neo4j" in release["output"], release
    assert "not found: " in release["output"], release
    # with a tag, the prechecks come from the worker too, and name what is missing
    assert "[FAIL]" in release["plan"] and "Docker target" not in release["plan"], release


def test_portal_web_answers_with_its_login_page_and_static_files(deployment: Outcome):
    web = deployment.report.get("web") or {}
    assert web.get("login_status") == 200 and web.get("login_form"), deployment.why()
    assert web.get("static_status") == 200 and web.get("static_is_css"), deployment.why()


def test_backup_requested_in_the_portal_container_is_done_by_its_worker(deployment: Outcome):
    backup = deployment.report.get("backup") or {}
    assert backup.get("returncode") == 0, deployment.why()
    assert "backup #1 succeeded" in backup.get("output", ""), deployment.why()
    # Celery's line in the portal-worker container's log: that container, not the web one, carried it out.
    assert backup.get("worker_task_lines"), deployment.why()


def _backup_files(deployment: Outcome) -> list[Path]:
    return sorted(deployment.dep.backups_dir.iterdir()) if deployment.dep.backups_dir.exists() else []


def test_dump_is_in_the_backups_directory_owned_by_the_data_owner(deployment: Outcome):
    dumps = [f for f in _backup_files(deployment) if f.name.endswith(".dump")]
    assert [d.name.startswith("neo4j-") for d in dumps] == [True], (
        f"backups directory holds {[d.name for d in _backup_files(deployment)]}" + deployment.why()
    )
    st = dumps[0].stat()
    assert (st.st_uid, st.st_gid) == (check.DATA_UID, check.DATA_UID), (
        f"{dumps[0]} is owned by {st.st_uid}:{st.st_gid}" + deployment.why()
    )
    assert st.st_size > 0
    # The catalog line the command printed names this very file, with the identity node in it.
    assert f"{dumps[0].name}: {st.st_size} bytes" in deployment.report["backup"]["output"], deployment.why()
    assert "1 nodes" in deployment.report["backup"]["output"], deployment.why()


def test_portal_database_copy_is_beside_the_dump_with_the_backups_catalog_row(deployment: Outcome):
    files = _backup_files(deployment)
    dump = next((f for f in files if f.name.endswith(".dump")), None)
    assert dump is not None, deployment.why()
    copy = dump.with_name(dump.name.replace(".dump", ".portal.sqlite3"))
    assert sorted(files) == sorted([dump, copy]), f"backups directory holds {[f.name for f in files]}" + (
        deployment.why()
    )
    # Made by the worker container from the portal-data volume: SQLite, holding the catalog row of its own dump.
    with contextlib.closing(sqlite3.connect(f"file:{copy}?mode=ro", uri=True)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM operations_backup WHERE file_name = ?", [dump.name]).fetchone() == (1,)
    assert f"{copy.name}: {copy.stat().st_size} bytes, sha256 " in deployment.report["backup"]["output"], (
        deployment.why()
    )


def test_every_service_reports_healthy_and_redis_keeps_its_data(deployment: Outcome):
    assert deployment.report.get("health") == {
        "portal-web": "healthy",
        "portal-worker": "healthy",
        "portal-redis": "healthy",
        "portal-beat": "healthy",
    }, deployment.why()
    redis = deployment.report.get("redis") or {}
    assert (redis.get("appendonly"), redis.get("dir")) == (["yes"], ["/data"]), deployment.why()
    assert redis.get("data_mounts") == [
        {"type": "volume", "name": f"{deployment.dep.portal_project}_portal-redis-data", "destination": "/data"}
    ], deployment.why()
    assert redis.get("marker_after_restart") is True, deployment.why()


def test_neo4j_container_runs_again_with_its_data(deployment: Outcome):
    results = deployment.report.get("results") or {}
    assert results.get("neo4j_states") == ["running"], deployment.why()
    # Read through the portal after the backup: the identity added before it is still there, scope and all.
    assert check.IDENTITY in results.get("identities_after", []), deployment.why()
    assert results.get("scopes_after") == [check.IDENTITY_SCOPE], deployment.why()


def test_nothing_is_left_behind(deployment: Outcome):
    assert deployment.report.get("leftovers") == {"containers": [], "networks": [], "volumes": []}, deployment.why()
    # The engine itself, asked independently of the script.
    assert deployment.left == {"containers": [], "networks": [], "volumes": []}, deployment.why()


def test_the_compose_file_gives_the_socket_and_the_data_to_the_worker_alone():
    """Read from deploy/docker-compose.yml (by Debian's python3, which has PyYAML): only portal-worker mounts the
    Docker socket and the Neo4j data directory; portal-web sees the backups read-only and asks the worker; web and
    beat run as the image's unprivileged user. The running containers are checked the same way by the check above
    (`privileges` in its report)."""
    code = "import json, check_docker_deployment as c; print(json.dumps(c.compose_privileges()))"
    proc = subprocess.run(
        [SYSTEM_PYTHON, "-c", code], cwd=ROOT / "scripts", capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert {name: (f["socket"], f["data"]) for name, f in found.items()} == {
        "portal-web": (False, False),
        "portal-worker": (True, True),
        "portal-beat": (False, False),
    }
    assert found["portal-web"]["backups"] == "ro" and found["portal-worker"]["backups"] == "rw"
    assert found["portal-beat"]["backups"] is None
    assert [found[n]["user"] for n in ("portal-web", "portal-worker", "portal-beat")] == ["image", "0:0", "image"]
    assert found["portal-web"]["via_worker"] == found["portal-beat"]["via_worker"] == "true"


def test_the_running_containers_have_the_same_privileges(deployment: Outcome):
    running = deployment.report.get("privileges") or {}
    assert {n: (p["socket"], p["data"]) for n, p in running.items()} == {
        "portal-web": (False, False),
        "portal-worker": (True, True),
        "portal-beat": (False, False),
    }, deployment.why()
    assert running["portal-web"]["backups"] == "ro" and running["portal-worker"]["uid"] == "0", deployment.why()
    assert running["portal-web"]["uid"] == running["portal-beat"]["uid"] == "10001", deployment.why()
