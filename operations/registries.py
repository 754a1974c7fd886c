"""Two registries a lower app fills so that higher ones show its figures and alert on its problems without being
imported by it (docs/architecture.md, "How a lower layer reaches a higher one"), like the status checks of
operations/checks.py:

- **metrics**: a function returning :class:`Gauge` values; ``/metrics`` (operations/glance/metrics.py) exports each
  under the portal's prefix, and a source that raises is reported as down, not as a failed scrape;
- **alert sources**: a function of the time returning :class:`Finding` values for one alert kind; the alerts sweep
  (operations/unattended/alerts.py) opens one alert per finding's key and resolves it when the key is gone. A source
  that raises neither opens nor resolves alerts of its kind.

The compute app registers both in its ``ready()`` (compute/apps.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable


@dataclasses.dataclass(frozen=True)
class Gauge:
    #: without the portal's prefix, e.g. ``compute_services``
    name: str
    help: str
    labels: tuple[str, ...] = ()
    #: (label values in the order of ``labels``, value)
    samples: tuple[tuple[tuple[str, ...], float], ...] = ()


@dataclasses.dataclass(frozen=True)
class Finding:
    """One problem: its key (one open alert per key), a subject line and the message staff receive."""

    key: str
    subject: str
    message: str


_METRICS: dict[str, Callable[[], list[Gauge]]] = {}
_ALERT_SOURCES: dict[str, Callable[[dt.datetime], list[Finding]]] = {}


def register_metrics(name: str, function: Callable[[], list[Gauge]]) -> None:
    """Add (or replace, by name) a source of gauges."""
    _METRICS[name] = function


def metric_sources() -> dict[str, Callable[[], list[Gauge]]]:
    return dict(sorted(_METRICS.items()))


def register_alerts(kind: str, function: Callable[[dt.datetime], list[Finding]]) -> None:
    """Add (or replace) the source of alerts of ``kind`` (at most 20 characters: the alert's ``kind``)."""
    if len(kind) > 20:
        raise ValueError(f"an alert kind has at most 20 characters: {kind!r}")
    _ALERT_SOURCES[kind] = function


def alert_sources() -> dict[str, Callable[[dt.datetime], list[Finding]]]:
    return dict(sorted(_ALERT_SOURCES.items()))
