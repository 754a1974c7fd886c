"""When Neo4j (the state store) does not answer: a clear 503 instead of the driver's traceback (docs/outage.md).

A page gets HTTP 503 with the words of :func:`explain` and, when an operation run holds Neo4j stopped, a link to
that run. :func:`explain` is registered with ``identities.unavailable`` when the app is ready, so ``manage.py
identity`` ends with the same words.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from identities.unavailable import explanation, is_unavailable

from ..models import OperationRun, RunStatus
from . import registry
from .outage import expected_outage


def holding_run() -> OperationRun | None:
    """The running operation on the portal's target, if any (it may be holding Neo4j stopped)."""
    return (
        OperationRun.objects.filter(target=settings.OPERATIONS_TARGET, status=RunStatus.RUNNING)
        .order_by("-started_at")
        .first()
    )


def explain() -> tuple[str, OperationRun | None]:
    """(the words, the run that holds Neo4j stopped or None)."""
    try:
        run = holding_run()
    except Exception:  # the portal's own database is unreachable too: say what we know
        run = None
    if run is None:
        return "state store unavailable: Neo4j does not answer", None
    k, n = run.current_position()
    started = run.state.get("outage_started")
    back = "back when the run starts Neo4j again"
    procedure = registry.find(run.kind)
    expected = procedure.expected_outage(run.target) if procedure is not None else expected_outage(run.target, run.kind)
    if expected is not None:
        since = dt.datetime.fromisoformat(started) if started else (run.started_at or timezone.now())
        remaining = expected - (timezone.now() - since).total_seconds()
        back = f"back in about {max(remaining, 5):.0f} s"
    return f"state store unavailable: {run.kind} #{run.pk} is running (step {k} of {n}), {back}", run


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
