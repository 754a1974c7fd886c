"""A registration's state from its heartbeat, failures and alchemiscale's thresholds, at the edges alchemiscale uses
(expired: heartbeat strictly older than the expiry; a failure counts while strictly younger than the forgiveness)."""

from __future__ import annotations

import datetime as dt

import pytest

from compute import states

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
LIMITS = states.Thresholds(registration_expire=1800, forgive=600, max_failures=3)


def ago(seconds: float) -> dt.datetime:
    return NOW - dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("heartbeat", "failures", "expected"),
    [
        (ago(10), [], states.ALIVE),
        (ago(1800), [], states.ALIVE),  # exactly at the expiry: alchemiscale keeps it (heartbeat < expire time)
        (ago(1801), [], states.STALE),
        (ago(10), [ago(1), ago(2), ago(3)], states.ALIVE),  # as many as allowed
        (ago(10), [ago(1), ago(2), ago(3), ago(4)], states.DENIED),  # one more than allowed
        (ago(10), [ago(1), ago(2), ago(3), ago(600)], states.ALIVE),  # the fourth is exactly forgiven
        (ago(10), [ago(1), ago(2), ago(3), ago(599)], states.DENIED),
        (ago(7200), [ago(1), ago(2), ago(3), ago(4)], states.STALE),  # stale wins: it claims nothing either way
        (ago(10), None, states.ALIVE),
    ],
)
def test_service_state(heartbeat, failures, expected):
    assert states.service_state(heartbeat, failures, NOW, LIMITS) == expected


def test_recent_failures_count_only_the_window():
    assert states.recent_failures([ago(1), ago(599), ago(600), ago(3600)], NOW, LIMITS) == 2


def test_thresholds_follow_alchemiscale_settings_names(settings):
    settings.ALCHEMISCALE_COMPUTE_API_REGISTRATION_EXPIRE_SECONDS = 60
    settings.ALCHEMISCALE_COMPUTE_API_MAX_FAILURES = 0
    limits = states.Thresholds.from_settings(settings)
    assert (limits.registration_expire, limits.max_failures, limits.forgive) == (60, 0, 600)
    assert states.service_state(ago(61), [], NOW, limits) == states.STALE
    assert states.service_state(ago(1), [ago(1)], NOW, limits) == states.DENIED


def test_manager_expiry_depends_on_its_status():
    limits = states.Thresholds()
    assert states.manager_expired("OK", ago(3601), NOW, limits)
    assert not states.manager_expired("OK", ago(3599), NOW, limits)
    assert not states.manager_expired("ERROR", ago(3601), NOW, limits)  # ERROR ones are kept for a day
    assert states.manager_expired("ERROR", ago(86401), NOW, limits)


def test_name_of_strips_the_uuid_alchemiscale_appends():
    assert states.name_of("gpu-worker-" + "a" * 32) == "gpu-worker"
    assert states.name_of("odd-name") == "odd-name"
