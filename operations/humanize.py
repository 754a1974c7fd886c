"""Figures for people: the one place that turns bytes and seconds into words."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def human_size(n: float) -> str:
    """Bytes for people: 512 B, 1.5 KiB, 3.2 GiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def human_seconds(seconds: float) -> str:
    """Seconds for people: 42 s, 3 min 5 s, 2 h 10 min, 3 d 4 h."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def human_since(moment: dt.datetime, now: dt.datetime | None = None) -> str:
    """How long ago ``moment`` was, in the units above: 42 s, 2 h 10 min, 3 d 4 h."""
    return human_seconds(((now or timezone.now()) - moment).total_seconds())
