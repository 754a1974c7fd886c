"""The guided upgrade page: the store's Neo4j version, which migrations apply, their prechecks and steps, a typed
confirmation, then the run page's live progress; interrupted migration runs can be resumed or rolled back. The
applied-migrations record is the page's changelist. Same service functions as ``manage.py migrate-store``."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from operations.admin.records import RecordAdmin, run_link
from operations.models import AppliedMigration
from operations.runs.admin import warn_if_no_worker
from operations.runs.contract import OperationBusy, OperationFailed
from operations.runs.requests import active_run, no_worker_warning
from operations.targets import get_target
from security import proof

from . import registry, services, versions
from .services import can_migrate


@admin.register(AppliedMigration)
class AppliedMigrationAdmin(RecordAdmin):
    list_display = ("name", "target", "outcome", "at", "by_label", "neo4j_before", "neo4j_after", "run_link")
    list_filter = ("outcome", "name", "target")
    readonly_fields = [f.name for f in AppliedMigration._meta.fields]
    change_list_template = "admin/operations/appliedmigration/change_list.html"

    @admin.display(description="run")
    def run_link(self, record: AppliedMigration) -> str:
        return run_link(record.run_id)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [path("upgrade/", wrap(self.upgrade_view), name="operations_upgrade"), *super().get_urls()]

    def upgrade_view(self, request: HttpRequest) -> HttpResponse:
        if not can_migrate(request.user):
            raise PermissionDenied
        target = get_target()
        error, status = "", 200
        if request.method == "POST":
            if step_up := proof.require(request, "change the state store (upgrade or migration)"):
                return step_up
            try:
                run = self._request(request, target)
            except (OperationFailed, OperationBusy, registry.UnknownMigration) as exc:
                error, status = str(exc.args[0] if isinstance(exc, registry.UnknownMigration) else exc), 400
            else:
                self.message_user(
                    request, f"{run.kind} run #{run.pk} requested; a worker carries it out.", messages.SUCCESS
                )
                warn_if_no_worker(self, request)
                return redirect("admin:operations_operationrun_change", run.pk)
        try:
            version = target.neo4j_version()
        except Exception as exc:  # shown, not raised: the page must help when the target is broken
            version = f"unknown ({exc})"
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Upgrade the state store",
            "target": target,
            "neo4j_version": version,
            "migrations": registry.overview(target),
            "path": registry.upgrade_path(target, version),
            "newest": versions.newest(registry.hops()),
            "interrupted": services.interrupted_runs(target),
            "active": active_run(target.name),
            "no_worker": no_worker_warning(),
            "history": AppliedMigration.objects.filter(target=target.name)[:20],
            "error": error,
        }
        return TemplateResponse(request, "admin/operations/upgrade.html", context, status=status)

    def _request(self, request: HttpRequest, target):
        action, label = request.POST.get("action", ""), request.user.get_username()
        if action == "run":
            return services.request_migration(
                request.POST.get("migration", ""),
                confirmation=request.POST.get("confirmation", ""),
                user=request.user,
                label=label,
                target=target,
            )
        if action in ("resume", "rollback"):
            try:
                run_id = int(request.POST.get("run", ""))
            except ValueError:
                raise OperationFailed("which run?") from None
            follow_up = services.resume if action == "resume" else services.roll_back
            return follow_up(run_id, user=request.user, label=label, target=target)
        raise OperationFailed(f"unknown action {action!r}")


from . import release_admin  # noqa: E402, F401  (release upgrades and users' notices: registered on import)
