"""The guide's common upgrade: alchemiscale's services re-deployed on a new release's image, and its users told.

alchemiscale-server's image cannot be pulled here and alchemiscale cannot be installed (gufe is not on PyPI), so the
deployment's alchemiscale services are STAND-INS: containers of ``alchemiscale-server-standin:<tag>``, built by the
project's recipe (``scripts/standin_image.py --tag``), whose entry point (``devtools/alchemiscale_standin.py``)
answers ``api`` and ``compute api`` with an HTTP server on ``/ping`` as alchemiscale's APIs do, and runs
``strategist`` as a long-lived process. They are made as docker-compose makes alchemiscale's services (compose
labels, restart policy, the compose file's healthcheck, NEO4J_* environment), on host networking and loopback ports
(no bridge networks on the test engine). The release ``v0.9.0`` is built ``--unhealthy``: its APIs answer /ping
with 503, standing in for a release that does not come up.
"""

from __future__ import annotations

import io
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from identities import services as identity_services
from identities.audit import Actor
from identities.nodes import COMPUTE, USER
from operations.models import Backup, OperationRun, ReleaseNotice, ReleaseUpgrade, RunStatus
from operations.runs.engine import execute
from operations.targets.docker import PROJECT_LABEL, SERVICE_LABEL
from operations.upgrades import release_services
from operations.upgrades.release_procedure import services_of
from tests.docker_fixtures import docker_client
from tests.operations.conftest import graph_snapshot, seed_graph, target  # noqa: F401  (fixture)
from tests.operations.test_alerts import smtp  # noqa: F401  (fixture: aiosmtpd on loopback)

ROOT = Path(__file__).resolve().parent.parent
REPO = "alchemiscale-server-standin"
OLD, NEW, BROKEN = "v0.7.2", "v0.8.0", "v0.9.0"

pytestmark = pytest.mark.django_db(transaction=True)
on_docker = pytest.mark.parametrize("target", ["docker"], indirect=True)


@pytest.fixture(scope="module")
def standin_releases() -> None:
    for tag, extra in ((OLD, []), (NEW, []), (BROKEN, ["--unhealthy"])):
        subprocess.run(["python3", str(ROOT / "scripts/standin_image.py"), "build", "--tag", tag, *extra], check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ping(port: int) -> str:
    """The stand-in release answering on ``port``, from its /ping's header."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=5) as answer:
        return answer.headers["X-Standin-Version"]


@pytest.fixture
def deployment(standin_releases, target, settings, tmp_path):  # noqa: F811
    """alchemiscale's four services beside the test deployment's Neo4j, on the OLD stand-in release, and compose's
    .env naming it."""
    client = docker_client()
    project = settings.DOCKER_PROJECT
    ports = {"alchemiscale-client-API": free_port(), "alchemiscale-compute-API": free_port()}
    commands = {
        "alchemiscale-client-API": ["api", "--host", "127.0.0.1", "--port", str(ports["alchemiscale-client-API"])],
        "alchemiscale-compute-API": [
            "compute",
            "api",
            "--host",
            "127.0.0.1",
            "--port",
            str(ports["alchemiscale-compute-API"]),
        ],
        "alchemiscale-strategist": ["strategist", "--config-file", "/mnt/strategist-config.yaml"],
        "alchemiscale-db-init": ["--help"],  # a one-shot that ran and exited 0, as `database init` does
    }
    for service, command in commands.items():
        port = ports.get(service)
        check = f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/ping', timeout=2)"
        c = client.containers.create(
            f"{REPO}:{OLD}",
            command,
            name=f"{project}_{service}_1",
            network_mode="host",
            restart_policy=None if service.endswith("db-init") else {"Name": "unless-stopped"},
            environment={"NEO4J_URL": settings.DOCKER_NEO4J_URL, "NEO4J_USER": "neo4j", "NEO4J_PASS": "secret"},
            labels={PROJECT_LABEL: project, SERVICE_LABEL: service, "com.docker.compose.oneoff": "False"},
            healthcheck={"test": ["CMD", "python3", "-c", check], "interval": 60 * 10**9, "retries": 3}
            if port
            else None,
        )
        c.start()
        if service.endswith("db-init"):
            assert c.wait(timeout=30)["StatusCode"] == 0
    env = tmp_path / ".env"
    env.write_text(f"NEO4J_DOCKER_IMAGE=neo4j:5.26\nALCHEMISCALE_DOCKER_IMAGE={REPO}:{OLD}\n")
    settings.COMPOSE_ENV_FILE = str(env)
    settings.RELEASE_HEALTH_TIMEOUT = 10
    yield {"ports": ports, "env": env, "services": list(commands)}
    for service in commands:
        for c in client.containers.list(all=True, filters={"label": f"{SERVICE_LABEL}={service}"}):
            c.remove(force=True)


def images(deployment) -> dict[str, tuple[str, str]]:
    """service -> (image, state) as the engine has them, found by compose labels."""
    out = {}
    for service in deployment["services"]:
        [c] = docker_client().containers.list(all=True, filters={"label": f"{SERVICE_LABEL}={service}"})
        out[service] = (c.attrs["Config"]["Image"], c.status)
    return out


def upgrade(tag: str):
    run = release_services.request_upgrade(tag, confirmation=tag, user=None, label="cli:test", send=False)
    return execute(run.pk)


@on_docker
def test_release_upgrade_moves_every_service_and_it_answers(deployment, target, alice_client):  # noqa: F811
    page = alice_client.get(reverse("admin:operations_release_upgrade"), {"tag": NEW}).content.decode()
    assert f"<code>{REPO}:{OLD}</code>" in page and "alchemiscale-strategist" in page
    assert f"docker exec {settings.DOCKER_PROJECT}_alchemiscale-client-API_1 python3 -c" in page
    out = io.StringIO()
    call_command("upgrade-release", NEW, "--plan", stdout=out)
    assert f"alchemiscale-compute-API: {settings.DOCKER_PROJECT}_alchemiscale-compute-API_1 on {REPO}:{OLD}" in (
        out.getvalue()
    )
    assert f"ALCHEMISCALE_DOCKER_IMAGE={REPO}:{NEW} written to {deployment['env']}" in out.getvalue()
    shown = release_services.overview(NEW)
    assert [s["service"] for s in shown.services] == deployment["services"]
    assert shown.others == [settings.DOCKER_SERVICE]  # Neo4j is left alone
    assert all(c.ok for c in shown.prechecks), shown.prechecks
    names = [s["name"] for s in shown.steps]
    assert names[:3] == ["check the upgrade applies", "record the services", "back up: check the backups directory"]
    assert "re-create alchemiscale-client-API" in names and "wait for alchemiscale-compute-API" in names
    assert "wait for alchemiscale-db-init" not in names  # a one-shot that is not running is not waited for

    run = upgrade(NEW)
    assert run.status == RunStatus.SUCCEEDED, run.error
    after = images(deployment)
    assert after == {
        "alchemiscale-client-API": (f"{REPO}:{NEW}", "running"),
        "alchemiscale-compute-API": (f"{REPO}:{NEW}", "running"),
        "alchemiscale-strategist": (f"{REPO}:{NEW}", "running"),
        "alchemiscale-db-init": (f"{REPO}:{NEW}", "created"),
    }
    assert {ping(p) for p in deployment["ports"].values()} == {NEW}
    [c] = docker_client().containers.list(filters={"label": f"{SERVICE_LABEL}=alchemiscale-client-API"})
    assert c.labels[PROJECT_LABEL] == settings.DOCKER_PROJECT and c.attrs["HostConfig"]["RestartPolicy"]["Name"]
    assert c.attrs["Config"]["Healthcheck"]["Test"][:2] == ["CMD", "python3"]  # what compose gave it, kept
    assert f"ALCHEMISCALE_DOCKER_IMAGE={REPO}:{NEW}\n" in deployment["env"].read_text()
    record = ReleaseUpgrade.objects.get()
    assert (record.from_tag, record.to_tag, record.outcome, record.by_label) == (OLD, NEW, "upgraded", "cli:test")
    assert record.details["backup"] == Backup.objects.get().file_name


@on_docker
def test_a_release_that_fails_its_health_check_is_put_back(deployment, target):  # noqa: F811
    seed_graph(target, "release")
    before = graph_snapshot(target)
    run = upgrade(BROKEN)
    assert run.status == RunStatus.FAILED
    assert "wait for alchemiscale-client-API" in run.error and "did not answer its healthcheck" in run.error
    after = images(deployment)
    assert {image for image, _ in after.values()} == {f"{REPO}:{OLD}"}
    assert after["alchemiscale-db-init"][1] == "created" and after["alchemiscale-strategist"][1] == "running"
    assert {ping(p) for p in deployment["ports"].values()} == {OLD}
    steps = {s.name: s.status for s in run.steps.all()}
    assert steps["put every service back on its old image"] == steps["wait for the services on their old image"] == "ok"
    assert f"ALCHEMISCALE_DOCKER_IMAGE={REPO}:{OLD}\n" in deployment["env"].read_text()
    assert graph_snapshot(target) == before
    record = ReleaseUpgrade.objects.get()
    assert (record.from_tag, record.to_tag, record.outcome) == (OLD, BROKEN, "failed")
    assert any("wait for alchemiscale-client-API" in why for why in record.details["why"])


def test_the_notice_reaches_each_user_with_an_email_and_no_compute_identity(smtp, alice_client):  # noqa: F811
    actor = Actor.command_line()
    identity_services.add_identity(USER, "ada", "k", actor, email="ada@example.org", full_name="Ada")
    identity_services.add_identity(USER, "bo", "k", actor, email="bo@example.org")
    identity_services.add_identity(USER, "cy", "k", actor)  # no e-mail: listed, not sent to
    identity_services.add_identity(COMPUTE, "farm", "k", actor, email="farm-owner@example.org")
    url = reverse("admin:operations_release_notice")
    form = {"version": NEW, "client_version": "0.8.0", "subject": "alchemiscale 0.8", "body": "Please upgrade."}

    page = alice_client.post(url, {**form, "action": "preview"}).content.decode()
    assert "ada &lt;ada@example.org&gt;" in page and "bo &lt;bo@example.org&gt;" in page
    assert "farm" not in page and "<li>cy</li>" in page
    assert smtp.messages == []  # a preview sends nothing

    response = alice_client.post(url, {**form, "action": "send"})
    assert response.status_code == 302
    assert sorted(m["X-Envelope-To"] for m in smtp.messages) == ["ada@example.org", "bo@example.org"]
    assert {m["Subject"] for m in smtp.messages} == {"alchemiscale 0.8"}
    assert "Please upgrade." in smtp.messages[0].get_payload()
    notice = ReleaseNotice.objects.get()
    assert [r["identifier"] for r in notice.recipients] == ["ada", "bo"]
    assert notice.without_email == ["cy"] and notice.failed == [] and notice.by_label == "alice"


@on_docker
def test_an_interrupted_upgrade_is_put_back_by_its_roll_back(deployment, target):  # noqa: F811
    """A worker died after moving the client API (the run as recovery leaves it): its roll back puts it back."""
    run = release_services.request_upgrade(NEW, confirmation=NEW, user=None, label="cli:test", send=False)
    before = run.params["services"]
    services_of(target).move("alchemiscale-client-API", f"{REPO}:{NEW}", start=True)
    OperationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.INTERRUPTED, state={"release_before": before, "release_moved": ["alchemiscale-client-API"]}
    )
    assert release_services.interrupted_runs(target) == [OperationRun.objects.get(pk=run.pk)]
    follow = release_services.follow_up(run.pk, "rollback", user=None, label="cli:test", send=False)
    assert [s.name for s in follow.steps.order_by("position")][1:] == [
        "put every service back on its old image",
        "wait for the services on their old image",
        "record the failed attempt",
    ]
    done = execute(follow.pk)
    assert done.status == RunStatus.SUCCEEDED, done.error
    assert {image for image, _ in images(deployment).values()} == {f"{REPO}:{OLD}"}
    assert {ping(p) for p in deployment["ports"].values()} == {OLD}
    assert ReleaseUpgrade.objects.get().outcome == "rolled-back"
    assert release_services.interrupted_runs(target) == []
