"""The retention policy in the admin: one row, with a preview of what a prune would do now and a "Prune now"
button (the prune itself is an operation run like the others)."""

from __future__ import annotations

import contextvars

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from operations.admin.records import SingletonAdmin
from operations.models import RetentionPolicy
from operations.runs import contract
from operations.runs.admin import warn_if_no_worker
from operations.targets import get_target

from .. import retention, services

#: (user, CSRF token) of the request being rendered; never an attribute of the shared admin instance
_request: contextvars.ContextVar[tuple] = contextvars.ContextVar("retention_admin_request")


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(SingletonAdmin):
    fields = [
        "keep_last",
        "keep_daily",
        "keep_weekly",
        "keep_monthly",
        "safety_min_age_hours",
        "stale_after_hours",
        "offsite_keep_last",
        "offsite_keep_days",
        "preview",
    ]
    readonly_fields = ["preview"]
    labels = {
        "safety_min_age_hours": "Keep safety backups at least (hours)",
        "stale_after_hours": "Alert when no backup for (hours)",
        "offsite_keep_last": "Off-site: keep last",
        "offsite_keep_days": "Off-site: keep days",
    }

    def get_form(self, request, obj=None, **kwargs):
        return super().get_form(request, obj, labels=self.labels, **kwargs)

    @admin.display(description="a prune now would")
    def preview(self, policy: RetentionPolicy) -> str:
        target = get_target(settings.OPERATIONS_TARGET)
        verdicts = retention.decide_for(target.name, target.backup_dir)
        copies = retention.decide_copies_for(target.name)
        if not verdicts:
            return "find no backups in the catalog"
        copy_rows = format_html_join(
            "\n",
            '<tr class="offsite-{}"><td>{}</td><td>off-site copy {}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    "keep" if v.keep else "remove",
                    "keep" if v.keep else "REMOVE",
                    v.copy.location,
                    f"{v.copy.backup.created_at:%Y-%m-%d %H:%M} UTC",
                    "; ".join(v.reasons),
                )
                for v in copies
            ),
        )
        rows = format_html_join(
            "\n",
            '<tr class="{}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    "keep" if v.keep else "remove",
                    "keep" if v.keep else "REMOVE",
                    v.backup.file_name,
                    f"{v.backup.created_at:%Y-%m-%d %H:%M} UTC",
                    "; ".join(v.reasons),
                )
                for v in verdicts
            ),
        )
        button = ""
        user, token = _request.get((None, ""))
        if services.can_prune(user) and token:
            button = format_html(
                '<form method="post" action="{}"><input type="hidden" name="csrfmiddlewaretoken" '
                'value="{}"><input type="submit" id="prune-now" value="Prune now"></form>',
                reverse("admin:operations_retentionpolicy_prune"),
                token,
            )
        return format_html(
            '<table id="prune-preview">{}\n{}</table>{}<p>Saved changes to the policy apply to the next '
            'prune; the preview shows the saved policy.</p>',
            rows,
            copy_rows,
            button,
        )

    def change_view(self, request: HttpRequest, object_id, form_url="", extra_context=None):
        # The admin instance is shared by every request: who asks lives in a context variable of this request's own.
        reset = _request.set((request.user, get_token(request)))
        try:
            response = super().change_view(request, object_id, form_url, extra_context)
            if hasattr(response, "render"):
                response.render()  # the preview (a read-only field) reads the variable while it renders
            return response
        finally:
            _request.reset(reset)

    def get_urls(self):
        return [
            path("prune/", self.admin_site.admin_view(self.prune_view), name="operations_retentionpolicy_prune"),
            *super().get_urls(),
        ]

    def prune_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST" or not services.can_prune(request.user):
            raise PermissionDenied
        try:
            run = services.request_prune(request.user)
        except contract.OperationBusy as exc:
            self.message_user(request, f"Prune refused: {exc}", messages.ERROR)
            return redirect("admin:operations_retentionpolicy_changelist")
        self.message_user(request, f"Prune #{run.pk} requested.", messages.SUCCESS)
        warn_if_no_worker(self, request)
        return redirect("admin:operations_operationrun_change", run.pk)
