"""The fleet's pages in the admin (docs/compute.md): plain views wrapped by ``admin.site.admin_view`` in the URLs,
each refused without ``compute.view_fleet``. They only read (compute/queries.py)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.response import TemplateResponse
from django.urls import reverse

from . import fleetwide, present, queries, states
from .counted import Counted

PERMISSION = "compute.view_fleet"
TASK_STATUSES, NETWORK_STATES, ANY = states.TASK_STATUSES, states.NETWORK_STATES, states.ANY


def fleet_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def _render(request: HttpRequest, template: str, title: str, **context: Any) -> TemplateResponse:
    return TemplateResponse(
        request,
        f"admin/compute/{template}",
        {**admin.site.each_context(request), "title": title, "limit": queries.LIMIT, **context},
    )


def _as_of(request: HttpRequest, found: Counted[Any]) -> dict[str, Any]:
    """What the page says about when its counts were made, and the link that counts again."""
    keep = {k: v for k, v in request.GET.items() if k != "recount"}
    return {
        "as_of": found.as_of,
        "as_of_age": present.age_text(found.age(queries.now())),
        "recount_url": "?" + urlencode({**keep, "recount": "1"}),
    }


def _recount(request: HttpRequest) -> bool:
    return request.GET.get("recount") == "1"


def _with_ages(rows: list[dict[str, Any]], *fields: str) -> list[dict[str, Any]]:
    for row in rows:
        for field in fields:
            row[field + "_text"] = present.age_text(row.get(field))
    return rows


@fleet_page
def services_page(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    state = request.GET.get("state") or None
    manager = request.GET.get("manager") or None
    sort = request.GET.get("sort", "identifier")
    order, descending = sort.removeprefix("-"), sort.startswith("-")
    if state not in (None, *states.SERVICE_STATES) or order not in queries.SERVICE_ORDER:
        return HttpResponseBadRequest("unknown state or sort key")
    rows = _with_ages(
        queries.services(search=search or None, state=state, manager=manager, order=order, descending=descending),
        "heartbeat_age",
    )
    keep = {k: v for k, v in {"q": search, "state": state, "manager": manager}.items() if v}
    columns = [
        (key, "-" + key if key == order and not descending else key, key == order) for key in queries.SERVICE_ORDER
    ]
    return _render(
        request,
        "services.html",
        "Compute services",
        rows=rows,
        search=search,
        state=state,
        manager=manager,
        sort=sort,
        states=states.SERVICE_STATES,
        managers=sorted({m["name"] for m in queries.managers()}),
        columns=[(key, "?" + urlencode({**keep, "sort": target}), active) for key, target, active in columns],
        limits=queries.limits(),
    )


@fleet_page
def service_page(request: HttpRequest, identifier: str) -> HttpResponse:
    found = queries.service(identifier)
    if found is None:
        raise Http404("no such compute service registration")
    found["heartbeat_age_text"] = present.age_text(found["heartbeat_age"])
    _with_ages(found["claimed"], "claim_age")
    return _render(request, "service.html", f"Compute service {identifier}", service=found, limits=queries.limits())


@fleet_page
def managers_page(request: HttpRequest) -> HttpResponse:
    rows = queries.managers()
    now = queries.now()
    for m in rows:
        m["update_age_text"] = present.age_text(now - m["last_status_update"] if m["last_status_update"] else None)
    return _render(request, "managers.html", "Compute managers", rows=rows, limits=queries.limits())


def _network_state(request: HttpRequest) -> str | None:
    chosen = request.GET.get("network_state", "active")
    if chosen == ANY:
        return None
    if chosen not in NETWORK_STATES:
        raise ValueError(chosen)
    return chosen


def by_network_state(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The view gets ``network_state`` from ``?network_state=`` (None for any); an unknown one is a 400."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            network_state = _network_state(request)
        except ValueError:
            return HttpResponseBadRequest("unknown network state")
        return view(request, *args, network_state=network_state, **kwargs)

    return wrapped


@fleet_page
@by_network_state
def tasks_page(request: HttpRequest, network_state: str | None) -> HttpResponse:
    found = fleetwide.scope_status(network_state, recount=_recount(request))
    rows = [dict(row) for row in found.value]  # the cached rows stay as they were
    list_url = reverse("compute-task-list")
    for row in rows:
        row["cells"] = [
            (
                row["counts"].get(status, 0),
                list_url
                + "?"
                + urlencode(
                    {
                        "org": row["org"],
                        "campaign": row["campaign"],
                        "project": row["project"],
                        "status": status,
                        "network_state": network_state or ANY,
                    }
                ),
            )
            for status in TASK_STATUSES
        ]
    return _by_network_state(request, "tasks.html", "Tasks by scope", rows, network_state, found)


def _by_network_state(
    request: HttpRequest,
    template: str,
    title: str,
    rows: list[dict[str, Any]],
    network_state: str | None,
    found: Counted[Any],
) -> TemplateResponse:
    """A kept count by task status for networks in one state (tasks by scope, networks)."""
    return _render(
        request,
        template,
        title,
        rows=rows,
        statuses=TASK_STATUSES,
        network_state=network_state or ANY,
        network_states=(*NETWORK_STATES, ANY),
        **_as_of(request, found),
    )


@fleet_page
@by_network_state
def task_list_page(request: HttpRequest, network_state: str | None) -> HttpResponse:
    parts = [request.GET.get(k, "") for k in ("org", "campaign", "project")]
    status = request.GET.get("status", "")
    if not all(parts) or status not in TASK_STATUSES:
        return HttpResponseBadRequest("a task list needs org, campaign, project and a task status")
    org, campaign, project = parts
    rows = _with_ages(
        queries.scope_tasks(org, campaign, project, status, network_state=network_state),
        "age",
        "claim_age",
        "status_age",
    )
    scope = "-".join(parts)
    return _render(
        request,
        "task_list.html",
        f"{status.capitalize()} tasks in {scope}",
        rows=rows,
        scope=scope,
        status=status,
        network_state=network_state or ANY,
    )


@fleet_page
def anomalies_page(request: HttpRequest) -> HttpResponse:
    found = fleetwide.anomalies(recount=_recount(request))
    rows = [{**a, "params_text": present.plain(a["params"])} for a in found.value]
    return _render(
        request, "anomalies.html", "Compute anomalies", rows=rows, cap=queries.ANOMALY_CAP, **_as_of(request, found)
    )


@fleet_page
@by_network_state
def networks_page(request: HttpRequest, network_state: str | None) -> HttpResponse:
    found = fleetwide.networks_counted(network_state, recount=_recount(request))
    rows = [{**row, "cells": [row["counts"].get(s, 0) for s in TASK_STATUSES]} for row in found.value]
    return _by_network_state(request, "networks.html", "Networks", rows, network_state, found)


@fleet_page
def throughput_page(request: HttpRequest) -> HttpResponse:
    recount = _recount(request)
    by_service = fleetwide.throughput_counted("service", recount=recount)
    by_scope = fleetwide.throughput_counted("scope", recount=recount)
    return _render(
        request,
        "throughput.html",
        "Throughput",
        by_service=by_service.value,
        by_scope=by_scope.value,
        totals=fleetwide.throughput_totals_counted(recount=recount).value,
        windows=[name for name, _ in fleetwide.WINDOWS],
        **_as_of(request, min(by_service, by_scope, key=lambda c: c.as_of)),
    )
