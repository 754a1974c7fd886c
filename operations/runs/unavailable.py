"""When Neo4j (the state store) does not answer: a clear 503 instead of the driver's traceback (docs/outage.md).

A page gets HTTP 503 with the words of :func:`explain` and, when an operation run holds Neo4j stopped, a link to
that run. What it says about that run is read from the portal's database at most every ``FRESH_SECONDS`` per process,
not on every request: during an outage the page is asked many times a second, and its reads must not stand in the
way of the run's own writes. :func:`explain` is registered with ``identities.unavailable`` when the app is ready, so ``manage.py
identity`` ends with the same words.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from identities.unavailable import explanation, is_unavailable

from ..models import OperationRun, RunStatus
from . import registry
from .outage import expected_outage

#: seconds the page goes by what it last read about the run holding Neo4j, instead of reading the portal's database
#: on every request (it is asked many times a second during an outage, and that database is the one the run writes)
FRESH_SECONDS = 2.0
#: how long what was read still stands when the portal's database cannot be read
STALE_SECONDS = 60.0


@dataclasses.dataclass(frozen=True)
class Holding:
    """The run that may hold Neo4j stopped, as the page tells of it."""

    pk: int
    kind: str
    #: (k, n): step k of n
    position: tuple[int, int]
    #: since when Neo4j is down for it (or the run has run)
    since: dt.datetime
    #: seconds the outage is expected to last (None: unknown)
    expected: float | None


# target's name -> (time.monotonic() when read, what was read); per process
_read: dict[str, tuple[float, Holding | None]] = {}


def forget() -> None:
    """Read the database again at the next request (tests that change runs between two pages)."""
    _read.clear()


def holding_run() -> OperationRun | None:
    """The running operation on the portal's target, if any (it may be holding Neo4j stopped)."""
    return (
        OperationRun.objects.filter(target=settings.OPERATIONS_TARGET, status=RunStatus.RUNNING)
        .order_by("-started_at")
        .first()
    )


def _holding_from_database() -> Holding | None:
    run = holding_run()
    if run is None:
        return None
    started = run.state.get("outage_started")
    procedure = registry.find(run.kind)
    expected = procedure.expected_outage(run.target) if procedure is not None else expected_outage(run.target, run.kind)
    return Holding(
        pk=run.pk,
        kind=run.kind,
        position=run.current_position(),
        since=dt.datetime.fromisoformat(started) if started else (run.started_at or timezone.now()),
        expected=expected,
    )


def holding() -> Holding | None:
    """The holding run, read at most every FRESH_SECONDS; when the database cannot be read, what was read last (up
    to STALE_SECONDS old), else the error."""
    target, now = settings.OPERATIONS_TARGET, time.monotonic()
    last = _read.get(target)
    if last is not None and now - last[0] < FRESH_SECONDS:
        return last[1]
    try:
        held = _holding_from_database()
    except Exception:
        if last is not None and now - last[0] < STALE_SECONDS:
            return last[1]
        raise
    _read[target] = (now, held)
    return held


def explain() -> tuple[str, Holding | None]:
    """(the words, the run that holds Neo4j stopped or None)."""
    try:
        held = holding()
    except Exception:  # the portal's own database is unreachable too: say what we know
        held = None
    if held is None:
        return "state store unavailable: Neo4j does not answer", None
    k, n = held.position
    back = "back when the run starts Neo4j again"
    if held.expected is not None:
        remaining = held.expected - (timezone.now() - held.since).total_seconds()
        if remaining >= -5:
            back = f"back in about {max(remaining, 5):.0f} s"
        else:  # past the estimate: say so instead of promising five more seconds for ever
            back = (
                f"it has taken {-remaining:.0f} s longer than the last such outage ({held.expected:.0f} s); back "
                "when the run starts Neo4j again (its page says which step it is on)"
            )
    return f"state store unavailable: {held.kind} #{held.pk} is running (step {k} of {n}), {back}", held


def response(request: HttpRequest) -> HttpResponse:
    words, run = explanation()
    link = reverse("admin:operations_operationrun_change", args=[run.pk]) if run is not None else None
    body = render_to_string("unavailable.html", {"words": words, "run": run, "link": link}, request=request)
    reply = HttpResponse(body, status=503)
    reply["Retry-After"] = "10"
    return reply


class StateStoreUnavailableMiddleware:
    """Turns the driver's "cannot reach the server" anywhere in a view (or its rendering) into :func:`response`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return response(request) if is_unavailable(exception) else None
