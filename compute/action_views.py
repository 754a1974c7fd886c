"""The fleet's two actions in the admin (compute/actions.py): each behind ``compute.manage_fleet`` and the step-up,
with a confirmation page that lists exactly what will change."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from security import proof
from security.actors import Actor

from . import actions, present, queries

PERMISSION = "compute.manage_fleet"


def _refuse_or_step_up(request: HttpRequest, what: str) -> HttpResponse | None:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    return proof.require(request, what)


def expire_stale_page(request: HttpRequest) -> HttpResponse:
    if step_up := _refuse_or_step_up(request, "expire stale compute registrations"):
        return step_up
    error = ""
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        try:
            removed = actions.expire_stale(request.POST.getlist("identifier"), Actor.staff(request.user))
        except actions.NothingToDo as exc:
            error = str(exc)
        else:
            tasks = sum(map(len, removed.values()))
            messages.success(request, f"{len(removed)} stale registrations expired; {tasks} tasks back to waiting.")
            return redirect("compute-services")
    stale = queries.stale_preview()
    for row in stale:
        row["heartbeat_age_text"] = present.age_text(row["heartbeat_age"])
    context = {
        **admin.site.each_context(request),
        "title": "Expire stale compute registrations now?",
        "stale": stale,
        "limits": queries.limits(),
        "error": error,
    }
    return TemplateResponse(request, "admin/compute/confirm_expire.html", context, status=409 if error else 200)


def clear_manager_page(request: HttpRequest, manager_id: str) -> HttpResponse:
    if step_up := _refuse_or_step_up(request, f"clear the ERROR of compute manager {manager_id}"):
        return step_up
    error = ""
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        try:
            actions.clear_manager_error(manager_id, Actor.staff(request.user))
        except actions.NothingToDo as exc:
            error = str(exc)
        else:
            messages.success(request, f"The ERROR registration of {manager_id} was removed.")
            return redirect("compute-managers")
    found = queries.manager(manager_id)
    if found is None and not error:
        raise Http404("no such compute manager")
    context = {
        **admin.site.each_context(request),
        "title": f"Clear the ERROR of {manager_id}?",
        "manager_id": manager_id,
        "manager": found,
        "error": error,
    }
    return TemplateResponse(request, "admin/compute/confirm_clear.html", context, status=409 if error else 200)
