"""A session ends after PORTAL_SESSION_MAX_HOURS however busy its person is (issue 26): the idle limit alone let a
session that kept polling live for ever, and a stolen cookie with it."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from security.middleware import STARTED_KEY

pytestmark = pytest.mark.unit


def test_a_busy_session_still_ends_at_its_absolute_lifetime(client, alice, settings):
    settings.SESSION_MAX_SECONDS = 3600
    client.force_login(alice)
    assert client.get(reverse("admin:index")).status_code == 200
    session = client.session
    assert time.time() - session[STARTED_KEY] < 60  # the start is known from the first request
    session[STARTED_KEY] = time.time() - 3601  # signed in an hour ago, active all along
    session.save()
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]
    assert "_auth_user_id" not in client.session


def test_within_the_lifetime_nothing_changes(client, alice, settings):
    settings.SESSION_MAX_SECONDS = 3600
    client.force_login(alice)
    session = client.session
    session[STARTED_KEY] = time.time() - 3500
    session.save()
    assert client.get(reverse("admin:index")).status_code == 200
