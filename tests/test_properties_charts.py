"""Property-based: every chart the dashboard draws renders at every data size (nothing, one point, many, all zero,
huge), its value axis starts at 0 in round steps people read (MiB, not 0.01498699188), and its time axis never
shows the same label twice (times of day once the points fit in a day)."""

import datetime as dt
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from operations.glance import charts

pytestmark = pytest.mark.unit
EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# A tick as people write it: digits with thousands separators, at most three decimals.
HUMAN = re.compile(r"\d{1,3}(,\d{3})*(\.\d{1,3})?")
STATUSES = list(charts.STATUS_COLOURS)

moments = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1), timezones=st.just(dt.UTC))
sizes = st.one_of(st.none(), st.integers(0, 2**44).map(float), st.floats(0, 1e6))
counts = st.one_of(st.integers(0, 5), st.integers(0, 10**7))


def _sized(element, max_size=60):
    """Nothing, one, or many: the three cases the dashboard meets on a fresh, a new and an old instance."""
    return st.one_of(st.just([]), st.lists(element, min_size=1, max_size=1), st.lists(element, max_size=max_size))


def axis_labels(svg: str, axis: str) -> list[str]:
    group = re.search(rf'<g class="axis {axis}( always_show)?">(.*?)</g></g>', svg, re.S)
    return re.findall(r"<text[^>]*>([^<]*)</text>", group.group(2)) if group else []


def assert_renders(svg: str, title: str) -> None:
    assert svg.startswith('<svg role="img" aria-label="' + title)
    assert "<script" not in svg


def assert_value_axis(labels: list[str], top: float) -> None:
    """From 0, rising, every label a plain round number, the last at or above the largest value."""
    assert labels[0] == "0", labels
    assert all(HUMAN.fullmatch(label) for label in labels), labels
    numbers = [float(label.replace(",", "")) for label in labels]
    assert numbers == sorted(set(numbers)) and len(numbers) <= charts.MAX_TICKS + 2, labels
    assert numbers[-1] >= top - 1e-9 * max(1.0, top), (labels, top)


@EXAMPLES
@given(
    series=st.dictionaries(
        st.sampled_from(["size", "duration", "outage"]), _sized(st.tuples(moments, sizes)), max_size=2
    ),
    measure=st.sampled_from([charts.BYTES, charts.SECONDS]),
)
def test_over_time_renders_from_zero_in_a_unit_that_fits(series, measure):
    svg = charts.over_time("Over time", series, measure)
    assert_renders(svg, "Over time")
    values = [v for points in series.values() for _, v in points if v is not None]
    if not values:
        return
    axis = charts.value_axis(values, measure)
    assert_value_axis(axis_labels(svg, "y"), max(values) / axis.factor)
    # The unit keeps the largest value at 1 or more of it, unless it is the smallest unit there is.
    assert axis.unit in {name for name, _ in measure.units} and f">{axis.unit}</text>" in svg
    assert max(values) >= axis.factor or axis.unit == measure.units[0][0]
    times = axis_labels(svg, "x")
    assert times and len(times) == len(set(times)) and len(times) <= charts.MAX_TIME_LABELS + 1, times
    at = [a for points in series.values() for a, v in points if v is not None]
    if max(at) - min(at) < dt.timedelta(days=1):
        assert all(":" in label for label in times), times  # within a day, the date alone would repeat


@EXAMPLES
@given(data=st.data(), weeks=st.integers(0, 12))
def test_runs_per_week_renders_at_every_size(data, weeks):
    mondays = [dt.date(2026, 11, 2) - dt.timedelta(weeks=i) for i in reversed(range(weeks))]
    shown = data.draw(st.lists(st.sampled_from(STATUSES), unique=True))
    series = {status: data.draw(st.lists(counts, min_size=weeks, max_size=weeks)) for status in shown}
    svg = charts.stacked_weeks("Runs", mondays, series)
    assert_renders(svg, "Runs")
    if series:
        assert_value_axis(axis_labels(svg, "y"), max([sum(c) for c in zip(*series.values())] or [0]))


@EXAMPLES
@given(data=st.data(), columns=st.integers(0, 30), stacked=st.booleans())
def test_grouped_bars_render_at_every_size(data, columns, stacked):
    names = data.draw(st.lists(st.sampled_from(["user", "compute", "active", "disabled"]), unique=True, max_size=3))
    series = {name: data.draw(st.lists(counts, min_size=columns, max_size=columns)) for name in names}
    svg = charts.grouped("Bars", [str(i) for i in range(columns)], series, stacked=stacked)
    assert_renders(svg, "Bars")
    if series:
        heights = [sum(c) for c in zip(*series.values())] if stacked else [v for c in series.values() for v in c]
        assert_value_axis(axis_labels(svg, "y"), max(heights, default=0))


@EXAMPLES
@given(items=_sized(st.tuples(st.from_regex(r"[a-z][a-z0-9]{0,12}", fullmatch=True), counts), max_size=10))
def test_ranking_renders_at_every_size(items):
    svg = charts.ranking("Orgs", items)
    assert_renders(svg, "Orgs")
    assert_value_axis(axis_labels(svg, "x"), max((n for _, n in items), default=0))


def test_a_tiny_store_is_sized_in_kib_and_a_day_of_backups_shows_times():
    """The two cases first seen on a fresh instance: a 15 KiB store, and backups a few hours apart."""
    at = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    svg = charts.over_time(
        "Backup size", {"size": [(at + dt.timedelta(hours=h), 15_715.0) for h in range(3)]}, charts.BYTES
    )
    assert axis_labels(svg, "y") == ["0", "2", "4", "6", "8", "10", "12", "14", "16"]
    assert ">KiB</text>" in svg
    assert axis_labels(svg, "x") == [f"2026-11-02 {t}" for t in ("09:00", "09:30", "10:00", "10:30", "11:00")]
