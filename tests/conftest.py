"""Shared fixtures: the real Neo4j (reset between tests), a real Celery worker process, named users.

The services themselves are started by ``scripts/test.sh`` (``make test``), which exports their environment.

Tests marked ``unit`` need none of them: ``scripts/test.sh --unit`` (``make test-unit``) runs only those, with
placeholder settings that point at closed loopback ports, SQLite in memory and Django's in-process cache, and starts
nothing. For them the graph is neither checked nor reset; a unit test that reaches for a service fails at once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.core.cache import cache

from identities import store
from tests.docker_fixtures import docker_neo4j, docker_neo4j_container  # noqa: F401  (fixtures)
from tests.fake_target import fake_target  # noqa: F401  (fixture)
from tests.oidc_fixtures import oidc_provider, sso  # noqa: F401  (fixtures: the test OpenID Connect provider)

ROOT = Path(__file__).resolve().parent.parent

# What alchemiscale's `database init` creates (docs/facts.md); the portal must leave exactly these.
ALCHEMISCALE_CONSTRAINTS = {
    "scoped_key": ("GufeTokenizable", "_scoped_key"),
    "user_identifier": ("CredentialedUserIdentity", "identifier"),
    "compute_identifier": ("CredentialedComputeIdentity", "identifier"),
    "compute_service_registration_identifier": ("ComputeServiceRegistration", "identifier"),
}


def create_alchemiscale_constraints() -> None:
    for name, (label, prop) in ALCHEMISCALE_CONSTRAINTS.items():
        # Names, labels and properties are constants above, never user input.
        store.cypher(f"CREATE CONSTRAINT {name} IF NOT EXISTS FOR (n:{label}) REQUIRE n.{prop} IS UNIQUE")


def schema_snapshot() -> tuple[list[str], list[str]]:
    return store.constraint_names(), store.index_names()


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    """Staff passwords hashed with a cheap hasher in tests (every test makes users, and some log in many times):
    the tests are about who may do what, not about the hash. Hashes made elsewhere (PBKDF2) still verify."""
    from django.test.utils import override_settings

    with override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]
    ):
        yield


def is_unit(request: pytest.FixtureRequest) -> bool:
    return request.node.get_closest_marker("unit") is not None


@pytest.fixture(scope="session")
def alchemiscale_schema(django_db_blocker):
    """Create the four constraints once (before the first test that is not a unit test); at the very end they (and
    the indexes) must be unchanged."""
    store.cypher("MATCH (n) DETACH DELETE n")
    create_alchemiscale_constraints()
    before = schema_snapshot()
    assert before[0] == sorted(ALCHEMISCALE_CONSTRAINTS)
    yield before
    after = schema_snapshot()
    assert after == before, f"the state store's schema changed during the tests: {before} -> {after}"


@pytest.fixture(autouse=True)
def clean_graph(request):
    """Every test but a unit test starts from an empty graph; constraints and indexes stay as they are."""
    if is_unit(request):
        yield
        return
    request.getfixturevalue("alchemiscale_schema")
    store.cypher("MATCH (n) DETACH DELETE n")
    cache.clear()  # caches of what is in the graph (e.g. identities.inventory) go with it
    yield


def worker_database_url() -> str:
    """DATABASE_URL for a worker subprocess: the database this test process uses, which is pytest-django's test
    database (``test_<name>`` on PostgreSQL, PORTAL_TEST_SQLITE's file on SQLite), not the one DATABASE_URL names."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    url = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit((url.scheme, url.netloc, "/" + quote(db["NAME"]), url.query, ""))


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real `celery worker` process sharing the test database and Redis."""
    env = {**os.environ, "DATABASE_URL": worker_database_url()}
    log_path = Path(settings.DATA_DIR) / "celery-worker-test.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "alchemiscale_portal",
            "worker",
            "-l",
            "info",
            "--concurrency",
            "1",
            "-n",
            f"test-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    from alchemiscale_portal.celery import app

    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the Celery worker exited at start; see {log_path}:\n{log_path.read_text()[-3000:]}")
        if app.control.ping(timeout=0.5):
            break
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the Celery worker did not answer within 60 s; see {log_path}")
    yield proc
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture
def alice(django_user_model):
    """A superuser."""
    return django_user_model.objects.create_superuser("alice", "alice@example.org", "alice-password-1")


@pytest.fixture
def bob(django_user_model):
    """Staff, with no permissions at all."""
    return django_user_model.objects.create_user("bob", "bob@example.org", "bob-password-1", is_staff=True)


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client
