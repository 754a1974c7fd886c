"""The admin page "Adopt the off-site remote" (docs/offsite-encryption.md, "The portal host is gone"): what
``manage.py adopt_remote`` does, for staff who may restore. Listing reads only the remote's manifests; adopting adds
catalog rows; putting back the portal's database replaces every record the portal keeps, so it is for superusers,
after a fresh proof of identity, and everybody is signed out by it (sessions are not in the copy)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from security import proof

from .. import adopt, offsite


def adopt_remote_view(model_admin, request: HttpRequest) -> HttpResponse:
    """GET: what the remote holds, from its manifests, each checked; POST ``adopt`` or ``portal-db``: do it."""
    if not request.user.has_perm("operations.restore_backup"):
        raise PermissionDenied
    remote, target = offsite.remote(), settings.OPERATIONS_TARGET
    work_dir = Path(settings.BACKUP_DIR) / ".adopting"
    if request.method == "POST" and remote:
        portal_db = request.POST.get("action") == "portal-db"
        if portal_db and not request.user.is_superuser:
            raise PermissionDenied
        if step_up := proof.require(request, "adopt the off-site remote"):
            return step_up
        try:
            lines = adopt.recover(remote, target, work_dir, portal_db=portal_db)
        except offsite.CopyError as exc:
            model_admin.message_user(request, f"Nothing was changed: {exc}", messages.ERROR)
            return redirect("admin:operations_backup_adopt")
        for line in lines:
            model_admin.message_user(request, line, messages.WARNING if "REFUSED" in line else messages.SUCCESS)
        return redirect("admin:operations_backup_changelist")
    found, error = [], ""
    if not remote:
        error = "no off-site remote is configured (PORTAL_OFFSITE_REMOTE)"
    else:
        try:
            found = adopt.survey(remote, target)
        except offsite.CopyError as exc:
            error = str(exc)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": "Adopt the off-site remote",
        "where": offsite.location(remote, target) if remote else "",
        "found": found,
        "error": error,
        "may_put_back": request.user.is_superuser and any(f.data.get("portal_db") for f in found if not f.problem),
    }
    return TemplateResponse(request, "admin/operations/adopt_remote.html", context)
