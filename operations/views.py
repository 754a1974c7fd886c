from django.contrib import admin
from django.template.response import TemplateResponse

from . import health


def system_status(request):
    checks = health.all_checks()
    context = {
        **admin.site.each_context(request),
        "title": "System status",
        "checks": checks,
        "all_ok": all(c.ok for c in checks),
    }
    return TemplateResponse(request, "admin/system_status.html", context)
