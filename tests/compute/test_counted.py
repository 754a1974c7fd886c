"""The kept counts (compute/counted.py), the throughput's windows and the registries the fleet fills, without a
store: Django's in-process cache of the unit tier, and a Redis address nobody listens on for a cache that is down."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache

from compute import counted, fleetwide, watch
from operations import registries
from operations.unattended import alerts

pytestmark = pytest.mark.unit

T0 = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


class Counter:
    def __init__(self):
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        return self.calls


def test_an_answer_is_kept_with_its_time_and_counted_again_on_request():
    count = Counter()
    first = counted.counted("q", {"a": 1}, count, now=lambda: T0)
    assert (first.value, first.as_of, first.fresh) == (1, T0, True)
    kept = counted.counted("q", {"a": 1}, count, now=lambda: T0 + dt.timedelta(seconds=30))
    assert (kept.value, kept.as_of, kept.fresh) == (1, T0, False)
    assert kept.age(T0 + dt.timedelta(seconds=30)) == dt.timedelta(seconds=30)
    # other parameters are another question; the order of the parameters is not
    assert counted.counted("q", {"a": 2}, count).value == 2
    assert counted.key("q", {"a": 1, "b": 2}) == counted.key("q", {"b": 2, "a": 1})
    again = counted.counted("q", {"a": 1}, count, recount=True, now=lambda: T0 + dt.timedelta(minutes=1))
    assert (again.value, again.as_of, again.fresh) == (3, T0 + dt.timedelta(minutes=1), True)
    assert count.calls == 3


def test_forget_drops_every_kept_answer():
    count = Counter()
    counted.counted("q", {}, count)
    counted.counted("r", {}, count)
    counted.forget()
    assert counted.counted("q", {}, count).fresh and counted.counted("r", {}, count).fresh
    assert count.calls == 4


def test_the_kept_time_is_the_setting(settings):
    settings.COMPUTE_COUNTS_SECONDS = 7
    assert counted.ttl() == 7


def test_a_cache_that_is_down_costs_only_the_count(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/1"}
    }
    count = Counter()
    assert counted.counted("q", {}, count).value == 1
    assert counted.counted("q", {}, count).value == 2  # nothing could be kept
    counted.forget()


def test_throughput_windows_compare_with_the_text_alchemiscale_writes():
    """A result's datetime_created is ``datetime.isoformat()`` of an aware time: text that sorts like the time."""
    windows = fleetwide.throughput_params(T0.astimezone(dt.timezone(dt.timedelta(hours=2))))
    assert windows == {
        "hour": "2026-12-06T11:00:00+00:00",
        "day": "2026-12-05T12:00:00+00:00",
        "week": "2026-11-29T12:00:00+00:00",
    }
    written = (T0 - dt.timedelta(minutes=59, microseconds=5)).isoformat()
    assert windows["hour"] <= written
    assert not windows["hour"] <= (T0 - dt.timedelta(minutes=61)).isoformat()


def test_the_fleet_fills_the_registries_and_the_sweep_reads_them():
    assert registries.metric_sources()["compute"] is watch.gauges
    assert registries.alert_sources()[watch.ALERT_KIND] is watch.findings
    with pytest.raises(ValueError, match="20 characters"):
        registries.register_alerts("x" * 21, watch.findings)
    found = [registries.Finding("compute:k", "subject", "message")]
    problems = alerts._registered("compute", lambda now: found if now == T0 else [], T0)()
    assert problems == [alerts.Problem("compute:k", "compute", "subject", "message")]
