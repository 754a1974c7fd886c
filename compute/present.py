"""Figures of the fleet for people and for ``--json``: ages in words, date-times as ISO text."""

from __future__ import annotations

import datetime as dt
from typing import Any


def age_text(age: dt.timedelta | None) -> str:
    """3 s, 12 min, 2 h 5 min, 3 d 4 h; a negative age (a clock ahead of ours) reads as "just now"."""
    if age is None:
        return "-"
    seconds = int(age.total_seconds())
    if seconds < 1:
        return "just now"
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def plain(value: Any) -> Any:
    """Something ``json.dumps`` takes: date-times as ISO text, ages in seconds, containers walked."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return round(value.total_seconds(), 3)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
