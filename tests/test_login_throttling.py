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


def _login_from(client, password: str, forwarded: str):
    return client.post(
        reverse("admin:login"),
        {"username": "alice", "password": password, "next": reverse("admin:index")},
        REMOTE_ADDR="127.0.0.2",  # the reverse proxy: the same for everybody behind it
        HTTP_X_FORWARDED_FOR=forwarded,
    )


def test_behind_one_proxy_a_guesser_locks_out_only_their_own_address(client, alice, settings):
    """Behind the compose deployment's proxy every client used to share its address, so five wrong guesses by
    anyone locked the username out for everybody (PORTAL_PROXY_COUNT had no effect)."""
    settings.PROXY_COUNT = 1
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login_from(client, "wrong", "198.51.100.7")
    assert _login_from(client, "alice-password-1", "198.51.100.7").status_code == 429
    # The person herself, from another address behind the same proxy, still gets in.
    assert _login_from(client, "alice-password-1", "203.0.113.5").status_code == 302


def test_a_forged_forwarded_header_does_not_choose_the_address(client, alice, settings):
    """The client can prepend anything to X-Forwarded-For; only the entry the trusted proxy added counts."""
    settings.PROXY_COUNT = 1
    for i in range(settings.AXES_FAILURE_LIMIT):
        _login_from(client, "wrong", f"192.0.2.{i}, 198.51.100.7")  # a new forged address each time
    assert _login_from(client, "alice-password-1", "198.51.100.7").status_code == 429


def test_without_a_proxy_count_the_forwarded_header_is_ignored(client, alice, settings):
    settings.PROXY_COUNT = 0
    for i in range(settings.AXES_FAILURE_LIMIT):
        _login_from(client, "wrong", f"198.51.100.{i}")
    assert _login_from(client, "alice-password-1", "203.0.113.5").status_code == 429  # all from 127.0.0.2
