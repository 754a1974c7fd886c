"""Charts drawn on the server as inline SVG with pygal: no JavaScript at all, colours from the admin's theme.

pygal's text and line colours are CSS variables of Django's admin (``--body-fg`` and friends), so one SVG reads well
in the admin's light and dark themes; the series colours are mid-tones chosen to stand out on both backgrounds.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence

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


def _count_axis(values: Iterable[int]) -> dict:
    """Whole-number ticks for counts (pygal would label 0.2, 0.4, ... on small ones)."""
    top = max([0, *values])
    step = max(1, math.ceil(top / 8))
    return {"y_labels": list(range(0, top + step + 1, step)), "value_formatter": lambda v: f"{v:.0f}"}


def over_time(title: str, series: dict[str, Sequence[tuple[dt.datetime, float | None]]], unit: str) -> SafeString:
    chart = pygal.DateTimeLine(
        **_config(
            title,
            x_label_rotation=25,
            y_title=unit,
            dots_size=3,
            show_dots=True,
            x_value_formatter=lambda d: d.strftime("%Y-%m-%d"),
        )
    )
    for name, points in series.items():
        chart.add(name, [(at, value) for at, value in points if value is not None])
    return svg(chart, title)


def stacked_weeks(title: str, weeks: Sequence[dt.date], series: dict[str, list[int]]) -> SafeString:
    totals = [sum(column) for column in zip(*series.values())] or [0]
    chart = pygal.StackedBar(**_config(title, x_label_rotation=25, y_title="runs", **_count_axis(totals)))
    chart.x_labels = [week.strftime("%Y-%m-%d") for week in weeks]
    for status, values in series.items():
        chart.add(status, values, color=STATUS_COLOURS.get(status))
    return svg(chart, title)


def grouped(
    title: str, labels: Sequence[str], series: dict[str, Iterable[int]], *, stacked: bool = False, **extra
) -> SafeString:
    columns = [list(v) for v in series.values()]
    heights = [sum(c) for c in zip(*columns)] if stacked else [v for c in columns for v in c]
    chart = (pygal.StackedBar if stacked else pygal.Bar)(**_config(title, **_count_axis(heights), **extra))
    chart.x_labels = list(labels)
    for name, values in zip(series, columns):
        chart.add(name, values)
    return svg(chart, title)


def ranking(title: str, items: Sequence[tuple[str, int]]) -> SafeString:
    chart = pygal.HorizontalBar(
        **_config(title, show_legend=False, height=max(160, 34 * len(items) + 80), **_count_axis(n for _, n in items))
    )
    chart.x_labels = [name for name, _ in reversed(items)]
    chart.add("identities", [n for _, n in reversed(items)])
    return svg(chart, title)
