"""What a release upgrade decides before it touches anything (operations/upgrades/release.py), the healthcheck it runs
inside a container, the .env line it rewrites, and the notice's defaults: no engine, no Neo4j."""

from __future__ import annotations

import dataclasses

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from operations.models import OperationRun
from operations.runs.contract import OperationFailed
from operations.targets.docker.compose_env import RELEASE_IMAGE_VARIABLE, ComposeEnvFile
from operations.targets.docker.release_services import health_command
from operations.upgrades import notices, registry, release, release_services
from security.roles import RESTORER

pytestmark = pytest.mark.unit

REPO = "ghcr.io/openforcefield/alchemiscale-server"
SERVICES = [
    {"service": "alchemiscale-client-API", "image": f"{REPO}:v0.7.2"},
    {"service": "alchemiscale-compute-API", "image": f"{REPO}:v0.7.2"},
]


def test_images_and_tags():
    assert release.split_image(f"{REPO}:v0.8.0") == (REPO, "v0.8.0")
    assert release.split_image("registry:5000/alchemiscale-server") == ("registry:5000/alchemiscale-server", "latest")
    assert release.new_image(REPO, "v0.8.0") == f"{REPO}:v0.8.0"
    assert release.new_image(REPO, "other/image:v1.0.0") == "other/image:v1.0.0"
    assert release.release_of("v0.6.2-1") == (0, 6, 2)
    assert release.current(SERVICES) == (REPO, "v0.7.2")
    with pytest.raises(release.BadTag, match="not a release tag"):
        release.release_of("latest")
    with pytest.raises(release.BadTag, match="different images"):
        release.current([*SERVICES, {"service": "alchemiscale-strategist", "image": f"{REPO}:v0.6.0"}])


def prechecks(**over):
    facts = dict(
        found=SERVICES, missing=[], to_tag="v0.8.0", new_image_present=True, migrations=[], cli_image=f"{REPO}:v0.8.0"
    )
    return release.problems(**{**facts, **over})


def test_prechecks_pass_and_name_what_to_pull_or_fix():
    assert prechecks() == []
    assert prechecks(new_image_present=False) == [
        f"the image {REPO}:v0.8.0 is not on the Docker engine; pull it first: docker pull {REPO}:v0.8.0"
    ]
    assert prechecks(to_tag="v0.7.2") == [f"the services already run {REPO}:v0.7.2"]
    assert "older than v0.7.2" in prechecks(to_tag="v0.6.0")[0]
    assert "not a release tag" in prechecks(to_tag="nightly")[0]
    assert "no alchemiscale service was found (looked for a, b)" in prechecks(found=[], missing=["a", "b"])[0]
    needs = prechecks(migrations=["alchemiscale-v0.3-to-v0.4"], cli_image=f"{REPO}:v0.4.0")
    assert needs == [
        f"v0.8.0 needs the schema migration(s) alchemiscale-v0.3-to-v0.4, run with PORTAL_ALCHEMISCALE_IMAGE "
        f"({REPO}:v0.4.0); set it to {REPO}:v0.8.0 first"
    ]


def test_schema_migrations_the_registry_says_a_release_needs():
    assert release.needed_migrations("v0.7.2", "v0.8.0", registry.MIGRATIONS, set()) == []
    assert release.needed_migrations("v0.4.0", "v0.8.0", registry.MIGRATIONS, set()) == []
    # 0.3 -> 0.4 crosses the schema migration (never the Neo4j data migration: that is a store upgrade of its own)
    assert release.needed_migrations("v0.3.0", "v0.4.0", registry.MIGRATIONS, set()) == ["alchemiscale-v0.3-to-v0.4"]
    assert release.needed_migrations("v0.3.0", "v0.5.1", registry.MIGRATIONS, {"alchemiscale-v0.3-to-v0.4"}) == []
    later = dataclasses.replace(registry.MIGRATIONS[1], name="v0.8-to-v0.9", alchemiscale_to="0.9")
    assert release.needed_migrations("v0.8.0", "v0.9.1", [*registry.MIGRATIONS, later], set()) == ["v0.8-to-v0.9"]
    assert release.needed_migrations("v0.8.0", "v0.8.3", [*registry.MIGRATIONS, later], set()) == []


class Container:
    def __init__(self, test):
        self.attrs = {"Config": {"Healthcheck": {"Test": test} if test is not None else None}}


def test_the_healthcheck_run_inside_the_container():
    curl = ["/opt/conda/bin/curl", "-f", "http://localhost:1840/ping"]
    assert health_command(Container(["CMD", *curl])) == curl
    assert health_command(Container(["CMD-SHELL", "wget --spider localhost:7474 || exit 1"])) == [
        "/bin/sh",
        "-c",
        "wget --spider localhost:7474 || exit 1",
    ]
    assert health_command(Container(["NONE"])) == []
    assert health_command(Container(None)) == []


def test_the_env_line_of_the_release_image(tmp_path):
    env = tmp_path / ".env"
    env.write_text("NEO4J_DOCKER_IMAGE=neo4j:5.18\nALCHEMISCALE_DOCKER_IMAGE=x/alchemiscale-server:v0.7.2\nA=1\n")
    f = ComposeEnvFile(env, RELEASE_IMAGE_VARIABLE)
    assert (
        f.point_at("x/alchemiscale-server:v0.8.0")
        == f"ALCHEMISCALE_DOCKER_IMAGE=x/alchemiscale-server:v0.8.0 written to {env}"
    )
    assert (
        env.read_text()
        == "NEO4J_DOCKER_IMAGE=neo4j:5.18\nALCHEMISCALE_DOCKER_IMAGE=x/alchemiscale-server:v0.8.0\nA=1\n"
    )
    assert "set ALCHEMISCALE_DOCKER_IMAGE=i:v1 in the deployment's .env by hand" in ComposeEnvFile(
        None, RELEASE_IMAGE_VARIABLE
    ).plan("i:v1")


def test_the_notice_names_the_release_and_the_client_to_install():
    assert notices.client_version("v0.8.0") == "0.8.0"
    assert notices.client_version("v0.6.2-1") == "0.6.2"
    body = notices.default_body("v0.8.0", "0.8.0")
    assert "release v0.8.0" in body and "alchemiscale-client=0.8.0" in body
    assert "CredentialedUserIdentity" in notices.USERS and "NOT n:CredentialedComputeIdentity" in notices.USERS


@pytest.mark.django_db
def test_staff_without_the_restorers_right_cannot_upgrade_or_notify(client, bob):
    client.force_login(bob)
    assert client.get(reverse("admin:operations_release_upgrade")).status_code == 403
    assert client.post(reverse("admin:operations_release_notice"), {"action": "send"}).status_code == 403
    with pytest.raises(PermissionDenied):
        release_services.request_upgrade("v0.8.0", confirmation="v0.8.0", user=bob, label="bob")


@pytest.mark.django_db
def test_an_upgrade_needs_the_tag_typed_again():
    with pytest.raises(OperationFailed, match="type the tag, 'v0.8.0', to confirm"):
        release_services.request_upgrade("v0.8.0", confirmation="v0.8", user=None, label="cli:test")
    with pytest.raises(OperationFailed, match="which release"):
        release_services.request_upgrade(" ", confirmation=" ", user=None, label="cli:test")
    assert OperationRun.objects.count() == 0


@pytest.mark.django_db
def test_a_restorer_opens_the_page_and_the_record(client, django_user_model):
    rita = django_user_model.objects.create_user("rita", password="rita-password-1", is_staff=True)
    rita.groups.add(Group.objects.get(name=RESTORER))
    client.force_login(rita)
    page = client.get(reverse("admin:operations_release_upgrade"))
    assert page.status_code == 200 and 'id="release-services"' in page.content.decode()
    assert client.get(reverse("admin:operations_releaseupgrade_changelist")).status_code == 200
    assert client.get(reverse("admin:operations_releasenotice_changelist")).status_code == 200
