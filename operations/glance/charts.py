"""Charts drawn on the server as inline SVG with pygal: no JavaScript at all, colours from the admin's theme.

pygal's text and line colours are CSS variables of Django's admin (``--body-fg`` and friends), so one SVG reads well
in the admin's light and dark themes; the series colours are mid-tones chosen to stand out on both backgrounds.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pygal
from django.utils.safestring import SafeString, mark_safe
from pygal.style import Style

THEME = Style(
    background="transparent",
    plot_background="transparent",
    foreground="var(--body-fg, #333)",
    foreground_strong="var(--body-fg, #333)",
    foreground_subtle="var(--body-quiet-color, #666)",
    guide_stroke_color="var(--hairline-color, #ccc)",
    major_guide_stroke_color="var(--border-color, #999)",
    font_family="inherit",
    title_font_family="inherit",
    label_font_family="inherit",
    major_label_font_family="inherit",
    legend_font_family="inherit",
    value_font_family="inherit",
    tooltip_font_family="inherit",
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    title_font_size=15,
    opacity=".85",
    opacity_hover="1",
    transition="0ms",
    colors=("#3b82c4", "#e0812f", "#4aa564", "#c4463b", "#8f6cc4", "#a08c2c", "#2fa3a8", "#c45a9e"),
)
# A fixed colour per run outcome, the same in every chart.
STATUS_COLOURS = {
    "succeeded": "#4aa564",
    "failed": "#c4463b",
    "errored": "#8f3bc4",
    "interrupted": "#e0812f",
    "cancelled": "#8a8a8a",
    "pending": "#3b82c4",
    "running": "#2fa3a8",
}
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S)


def _config(title: str, **extra) -> dict:
    return {
        "title": title,
        "style": THEME,
        "width": 760,
        "height": 340,
        "margin_bottom": 28,
        "js": [],
        "disable_xml_declaration": True,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 4,
        "print_values": False,
        "show_minor_x_labels": True,
        "truncate_label": 40,
        "truncate_legend": 40,
        "margin": 12,
        **extra,
    }


def svg(chart, title: str) -> SafeString:
    """The chart as inline SVG without pygal's <script> elements (their tooltips would need JavaScript we do not
    serve). pygal serialises with ElementTree, which escapes every label and title, and any '<' inside a script's
    text, so removing each script element up to its first closing tag removes exactly that element."""
    text = _SCRIPT.sub("", chart.render(is_unicode=True))
    return mark_safe(text.replace("<svg ", '<svg role="img" aria-label="' + _attr(title) + '" ', 1))


def _attr(text: str) -> str:
    return (text or "").replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class Measure:
    """What an axis measures and the units it may be shown in, smallest first: (name, size in the base unit)."""

    units: tuple[tuple[str, float], ...]
    whole: bool = False  # counts: no tick between two whole numbers


BYTES = Measure((("B", 1), ("KiB", 1024), ("MiB", 1024**2), ("GiB", 1024**3), ("TiB", 1024**4)))
SECONDS = Measure((("seconds", 1), ("minutes", 60), ("hours", 3600)))
COUNT = Measure((("", 1),), whole=True)
# At most this many steps up the value axis, and labels along a time axis (theirs are longer, and slanted): enough
# to read a value, few enough that labels never crowd.
MAX_TICKS = 8
MAX_TIME_LABELS = 6
# Steps a time axis may take, shortest first; the first that keeps the labels to MAX_TIME_LABELS is taken (beyond
# the last, whole multiples of it).
_TIME_STEPS = (
    [dt.timedelta(minutes=m) for m in (1, 2, 5, 10, 15, 30)]
    + [dt.timedelta(hours=h) for h in (1, 2, 3, 6, 12)]
    + [dt.timedelta(days=d) for d in (1, 2, 7, 14, 28, 91, 182, 364)]
)
_EPOCH = dt.datetime(2000, 1, 3, tzinfo=dt.UTC)  # a Monday at midnight: weekly ticks fall on Mondays


@dataclass(frozen=True)
class Axis:
    """A value axis from zero: the unit chosen for the largest value, and ticks in that unit."""

    unit: str
    factor: float  # base units per shown unit
    ticks: list[float]
    decimals: int

    def label(self, value: float) -> str:
        """A tick as people write it (1,500 / 0.5 / 20); other values (a point's own) to three figures."""
        if round(value, self.decimals) == value:
            text = f"{value:,.{self.decimals}f}"
            return text.rstrip("0").rstrip(".") if "." in text else text
        return f"{value:,.3g}"


def value_axis(values: Iterable[float | None], measure: Measure = COUNT) -> Axis:
    """The unit that keeps the largest value at 1 or more (bytes -> MiB, seconds -> minutes) and round ticks from 0
    to at least that value in steps of 1, 2 or 5 times a power of ten."""
    top = max((v for v in values if v is not None and math.isfinite(v)), default=0.0)
    top = max(top, 0.0)
    name, factor = measure.units[0]
    for unit_name, size in measure.units:
        if top >= size:
            name, factor = unit_name, size
    shown = top / factor
    if shown <= 0:
        return Axis(name, factor, [0, 1], 0)
    # No step finer than a thousandth of the unit: no size or duration needs it, and pygal's own scale never ends
    # on a range as small as 1e-300.
    rough = max(shown / MAX_TICKS, 0.001)
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    if measure.whole:
        step = max(1, round(step))
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    count = math.ceil(shown / step - 1e-9)
    ticks = [round(i * step, decimals) for i in range(count + 1)]
    if ticks[-1] < shown:  # rounding left the top just under the largest value
        ticks.append(round((count + 1) * step, decimals))
    return Axis(name, factor, ticks, decimals)


def _value_config(axis: Axis, has_series: bool) -> dict:
    config: dict = {"value_formatter": axis.label, "range": (0, axis.ticks[-1]), "include_x_axis": True}
    # pygal cannot place given labels on a chart without any series (it fails with "no attribute '_adapt'"); such a
    # chart shows pygal's "No data" instead.
    if has_series:
        config["y_labels"] = axis.ticks
    return config


def time_ticks(moments: Sequence[dt.datetime]) -> tuple[list[dt.datetime], str]:
    """Labels along a time axis, and their strftime format: whole days (or hours, minutes), at most MAX_TIME_LABELS of
    them within the points' span, with the time of day whenever the span is shorter than a few days, so no two
    labels read the same. A single moment, or a span too short for any step, is labelled with the points' own times."""
    if not moments:
        return [], "%Y-%m-%d"
    first, last = min(moments).astimezone(dt.UTC), max(moments).astimezone(dt.UTC)
    span = last - first
    longest = _TIME_STEPS[-1]
    step = next((s for s in _TIME_STEPS if span / s <= MAX_TIME_LABELS), None)
    step = step or longest * math.ceil(span / (MAX_TIME_LABELS * longest))
    if span >= step:
        start = _EPOCH + math.ceil((first - _EPOCH) / step) * step
        ticks = []
        while start <= last:
            ticks.append(start)
            start += step
        if step >= dt.timedelta(days=1) and len(ticks) >= 2:
            return ticks, "%Y-%m-%d"
        if len(ticks) >= 2:
            return ticks, "%Y-%m-%d %H:%M"
    own = sorted({m.astimezone(dt.UTC) for m in moments})
    if len(own) > MAX_TIME_LABELS:
        own = [own[round(i * (len(own) - 1) / (MAX_TIME_LABELS - 1))] for i in range(MAX_TIME_LABELS)]
    minutes = len({m.strftime("%Y-%m-%d %H:%M") for m in own}) == len(own)
    fmt = "%Y-%m-%d %H:%M" if minutes else "%Y-%m-%d %H:%M:%S"
    # Moments within the same second would still read alike: one label for them.
    return list({m.strftime(fmt): m for m in reversed(own)}.values())[::-1], fmt


def over_time(
    title: str, series: dict[str, Sequence[tuple[dt.datetime, float | None]]], measure: Measure
) -> SafeString:
    """Values (in the measure's base unit: bytes, seconds) over time, the value axis from zero in a unit that fits
    the largest value, the time axis in UTC."""
    points = {name: [(at, v) for at, v in values if v is not None] for name, values in series.items()}
    axis = value_axis((v for values in points.values() for _, v in values), measure)
    ticks, fmt = time_ticks([at for values in points.values() for at, _ in values])
    chart = pygal.DateTimeLine(
        **_config(
            title,
            x_label_rotation=25,
            y_title=axis.unit,
            x_title="UTC",
            dots_size=3,
            show_dots=True,
            x_value_formatter=lambda d: d.astimezone(dt.UTC).strftime(fmt),
            **_value_config(axis, any(points.values())),
        )
    )
    if ticks:
        chart.x_labels = ticks
    for name, values in points.items():
        if values:
            chart.add(name, [(at, v / axis.factor) for at, v in values])
    return svg(chart, title)


def stacked_weeks(title: str, weeks: Sequence[dt.date], series: dict[str, list[int]]) -> SafeString:
    totals = [sum(column) for column in zip(*series.values())]
    chart = pygal.StackedBar(
        **_config(title, x_label_rotation=25, y_title="runs", **_value_config(value_axis(totals), bool(series)))
    )
    chart.x_labels = [f"week of {week:%Y-%m-%d}" for week in weeks]
    for status, values in series.items():
        chart.add(status, values, color=STATUS_COLOURS.get(status))
    return svg(chart, title)


def grouped(
    title: str, labels: Sequence[str], series: dict[str, Iterable[int]], *, stacked: bool = False, **extra
) -> SafeString:
    columns = [list(v) for v in series.values()]
    heights = [sum(c) for c in zip(*columns)] if stacked else [v for c in columns for v in c]
    axis = _value_config(value_axis(heights), bool(columns))
    chart = (pygal.StackedBar if stacked else pygal.Bar)(**_config(title, **axis, **extra))
    chart.x_labels = list(labels)
    for name, values in zip(series, columns):
        chart.add(name, values)
    return svg(chart, title)


def ranking(title: str, items: Sequence[tuple[str, int]]) -> SafeString:
    axis = _value_config(value_axis(n for _, n in items), True)
    chart = pygal.HorizontalBar(**_config(title, show_legend=False, height=max(160, 34 * len(items) + 80), **axis))
    chart.x_labels = [name for name, _ in reversed(items)]
    chart.add("identities", [n for _, n in reversed(items)])
    return svg(chart, title)
