"""The status page: every registered check (operations/checks.py), what everything stands on first, then what runs
with nobody watching. It imports none of the checks: each app registers its own."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse

from .. import checks


def system_status(request: HttpRequest) -> TemplateResponse:
    components = checks.run_all("components")
    context = {
        **admin.site.each_context(request),
        "title": "System status",
        "checks": components,
        "all_ok": all(c.ok for c in components),
        "scheduler": checks.run_all("unattended"),
    }
    return TemplateResponse(request, "admin/system_status.html", context)
