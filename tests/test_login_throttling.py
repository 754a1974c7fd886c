"""Brute force against the admin login is throttled (django-axes)."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.unit


def _login(client, password: str):
    return client.post(
        reverse("admin:login"),
        {"username": "alice", "password": password, "next": reverse("admin:index")},
        REMOTE_ADDR="127.0.0.9",
    )


def test_lockout_after_repeated_failures(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = _login(client, "wrong")
        assert response.status_code == 200  # the form again, with its error
    # The limit is reached: now even the right password is refused.
    assert _login(client, "wrong").status_code == 429
    response = _login(client, "alice-password-1")
    assert response.status_code == 429
    assert b"locked" in response.content.lower()
    assert "_auth_user_id" not in client.session


def test_success_resets_the_count(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "wrong")
    assert _login(client, "alice-password-1").status_code == 302
    client.logout()
    # Counting starts again from zero.
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "wrong").status_code == 200
