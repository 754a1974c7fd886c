"""The scopes page: every scope granted or present in the data, and who can reach it (wildcards included)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from identities import inventory, services


def scopes_page(request):
    if not request.user.has_perm("identities.view_identity"):
        raise PermissionDenied
    rows = inventory.scope_report()
    context = {
        **admin.site.each_context(request),
        "title": "Scopes",
        "rows": rows,
        "sample": inventory.SAMPLE,
        "token_note": services.TOKEN_NOTE,
    }
    return TemplateResponse(request, "admin/identities/scopes.html", context)
