"""No error page shows a credential, in any mode (docs/reliability.md, security 1).

Each error path a visitor can reach is requested with DEBUG on (Django's detailed pages, the worst case) and off;
the page must not contain the Neo4j password, a Redis password or a database password, in any spelling.
"""

from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import path

from alchemiscale_portal import urls as portal_urls

pytestmark = pytest.mark.unit
REDIS_PASSWORD = "redis-pw-4f9a2c"


def _fails_with_credentials_in_reach(request):
    url = django_settings.NEOMODEL_NEO4J_BOLT_URL  # a local of the failing frame, as in a driver's connect
    raise RuntimeError(f"could not connect to {url}")


# The portal's own URLs stay (middleware reverses its pages, e.g. the second factor's).
urlpatterns = [path("boom/", _fails_with_credentials_in_reach), *portal_urls.urlpatterns]


def _secrets():
    password = django_settings.NEO4J_PASS
    return {password, quote(password, safe=""), REDIS_PASSWORD}


def _assert_clean(response):
    body = response.content.decode(errors="replace")
    for secret in _secrets():
        assert secret not in body, f"a credential is on the {response.status_code} page"
    return body


@pytest.fixture
def debug_client(settings, alice):
    settings.REDIS_URL = f"redis://:{REDIS_PASSWORD}@127.0.0.1:6379/0"
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    return client


@pytest.mark.parametrize("debug", [True, False])
def test_bad_host_page(debug_client, settings, debug):
    settings.DEBUG = debug
    response = debug_client.get(
        "/admin/login/", HTTP_HOST="evil.example", DATABASE_URL=f"postgres://portal:{REDIS_PASSWORD}@db/portal"
    )
    assert response.status_code == 400
    body = _assert_clean(response)
    if debug:
        assert "DisallowedHost" in body and "NEOMODEL_NEO4J_BOLT_URL" in body  # the detailed page, masked


@pytest.mark.parametrize("debug", [True, False])
def test_to_field_page(debug_client, settings, debug):
    settings.DEBUG = debug
    response = debug_client.get("/admin/auth/user/", {"_to_field": "password"})
    assert response.status_code == 400
    _assert_clean(response)


@pytest.mark.parametrize("debug", [True, False])
def test_server_error_page(debug_client, settings, debug):
    settings.DEBUG = debug
    settings.ROOT_URLCONF = __name__
    response = debug_client.get("/boom/")
    assert response.status_code == 500
    body = _assert_clean(response)
    if debug:
        assert "could not connect to bolt://neo4j:********@" in body


def test_mask_url():
    from security.masking import mask_url

    assert mask_url("bolt://neo4j:s3cr%40t@host:7687/neo4j") == "bolt://neo4j:********@host:7687/neo4j"
    assert mask_url("redis://:pw@127.0.0.1:6379/0") == "redis://:********@127.0.0.1:6379/0"
    assert mask_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert mask_url("postgres://user@db/x") == "postgres://user@db/x"


def test_log_lines_are_masked(settings):
    import logging

    from security.redaction import CredentialFormatter

    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "failed on %s", (settings.NEOMODEL_NEO4J_BOLT_URL,), None
    )
    line = CredentialFormatter().format(record)
    assert settings.NEO4J_PASS not in line and "bolt://neo4j:********@" in line


WEBHOOK_TOKEN = "XkQ93bTz7LmP0aWvR2sYc8Fd"
DSN_KEY = "4b1f0c9e8d7a6b5c4d3e2f1a0b9c8d7e"


@pytest.mark.parametrize("debug", [True, False])
def test_values_that_look_secret_are_masked_whatever_their_name(debug_client, settings, debug):
    """A Slack webhook (its secret in the path) or a DSN (its key as the URL's user) under a name Django does not
    find secret used to be listed in full on the development error page's settings and request environment."""
    settings.DEBUG = debug
    settings.ROOT_URLCONF = __name__
    settings.ALERT_WEBHOOK_URL = f"https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/{WEBHOOK_TOKEN}"
    response = debug_client.get(
        "/boom/",
        HTTP_X_HOOK=f"https://chat.example.org/hooks/{WEBHOOK_TOKEN}",
        ERROR_TRACKER=f"https://{DSN_KEY}@o1.ingest.example.org/42",
        PLAIN_VALUE="just-a-name",
    )
    body = _assert_clean(response)
    assert WEBHOOK_TOKEN not in body and DSN_KEY not in body
    if debug:
        assert "just-a-name" in body  # ordinary values stay readable


def test_the_shape_rules():
    from security.redaction import looks_secret

    assert looks_secret(f"https://hooks.slack.com/services/T0/B0/{WEBHOOK_TOKEN}")
    assert looks_secret(f"https://{DSN_KEY}@o1.ingest.example.org/42")
    assert looks_secret("ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4")
    assert not looks_secret("https://docs.example.org/admin/operations/backup/")
    assert not looks_secret("/srv/alchemiscale/backups")
    assert not looks_secret("alchemiscale-server_db")
    assert not looks_secret("2026-12-06T16:00:00+00:00")
