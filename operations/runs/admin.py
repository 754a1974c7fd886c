"""Operation runs in the admin: the list (with "Back up now"), a run page with live progress, its JSON feed."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from ..admin.records import RecordAdmin
from ..humanize import human_seconds, human_since
from ..models import OperationRun
from . import registry
from . import requests as run_requests
from .contract import OperationFailed


@admin.register(OperationRun)
class OperationRunAdmin(RecordAdmin):
    list_display = (
        "id",
        "kind",
        "status_badge",
        "target",
        "requester",
        "requested_at",
        "took",
        "progress_summary",
    )
    list_display_links = ("id", "kind")
    list_filter = ("status", "kind", "target")
    search_fields = ("requested_by_label", "error")
    list_per_page = 50
    change_list_template = "admin/operations/operationrun/change_list.html"
    actions = ["cancel_selected"]

    @admin.display(description="status", ordering="status")
    def status_badge(self, run: OperationRun) -> str:
        colour = {
            "succeeded": "#2e7d32",
            "failed": "#c62828",
            "errored": "#c62828",
            "interrupted": "#e65100",
            "running": "#1565c0",
            "pending": "#616161",
        }.get(run.status, "#000")
        return format_html('<b style="color:{}">{}</b>', colour, run.status)

    def get_queryset(self, request: HttpRequest):
        # The progress column reads each run's steps: fetched for the whole page in one query, not one per row.
        return super().get_queryset(request).prefetch_related("steps")

    @admin.display(description="requested by", ordering="requested_by_label")
    def requester(self, run: OperationRun) -> str:
        return run.requested_by_label

    @admin.display(description="took")
    def took(self, run: OperationRun) -> str:
        if run.started_at is None:
            return "not started"
        if run.finished_at is None:
            return f"running for {human_since(run.started_at)}"
        return human_seconds((run.finished_at - run.started_at).total_seconds())

    @admin.display(description="progress")
    def progress_summary(self, run: OperationRun) -> str:
        k, n = run.current_position()
        return f"step {k} of {n}"

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return any(registry.get(kind).allowed(request.user) for kind in registry.kinds())

    @admin.action(description="Cancel the selected pending runs", permissions=["cancel"])
    def cancel_selected(self, request: HttpRequest, queryset) -> None:
        cancelled = []
        for run in queryset:
            try:
                run_requests.cancel_run(run.pk, request.user)
            except (OperationFailed, PermissionDenied) as exc:
                self.message_user(request, f"#{run.pk} not cancelled: {exc}", messages.WARNING)
            else:
                cancelled.append(f"#{run.pk}")
        if cancelled:
            self.message_user(request, f"Cancelled {', '.join(cancelled)}.", messages.SUCCESS)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:run_id>/cancel/", wrap(self.cancel_view), name="operations_operationrun_cancel"),
            path("<int:run_id>/progress.json", wrap(self.progress_view), name="operations_operationrun_progress"),
            *super().get_urls(),
        ]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        """The run page: steps with their commands and output, step k of n, elapsed time, a log that updates."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        run = self.get_object(request, object_id)  # None for an unknown or malformed id ("abc", "1.5", NUL)
        if run is None:
            return self._get_obj_does_not_exist_redirect(request, self.model._meta, object_id)  # type: ignore[attr-defined]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"{run.kind} #{run.pk}",
            "run": run,
            "progress": run.progress(),
            "may_cancel": run_requests.can_request(request.user, run.kind),
            "not_cancellable": "" if run.status == "pending" else run_requests.not_cancellable_reason(run),
            "no_worker": run_requests.no_worker_warning(run.queue or None) if run.status == "pending" else "",
            "backups_made": run.backups_made.all(),
            "progress_url": reverse("admin:operations_operationrun_progress", args=[run.pk]),
        }
        return TemplateResponse(request, "admin/operations/operationrun/run.html", context)

    def progress_view(self, request: HttpRequest, run_id: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return JsonResponse(get_object_or_404(OperationRun, pk=run_id).progress())

    def cancel_view(self, request: HttpRequest, run_id: int) -> HttpResponse:
        """POST only (the run page's button): cancel a pending run."""
        if request.method != "POST":
            return redirect("admin:operations_operationrun_change", run_id)
        try:
            run = run_requests.cancel_run(run_id, request.user)
        except OperationFailed as exc:
            self.message_user(request, f"Not cancelled: {exc}", messages.ERROR)
        else:
            self.message_user(request, f"{run.kind} #{run.pk} cancelled; no step had run.", messages.SUCCESS)
        return redirect("admin:operations_operationrun_change", run_id)


def warn_if_no_worker(model_admin: admin.ModelAdmin, request: HttpRequest) -> None:
    """After a request: say plainly when nobody will take it yet."""
    warning = run_requests.no_worker_warning()
    if warning:
        model_admin.message_user(request, warning[0].upper() + warning[1:] + ".", messages.WARNING)
