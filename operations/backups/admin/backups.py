"""The backup catalog in the admin, with the permission-gated "Restore" and its typed confirmation page, and
"Verify" (a run that loads the dump into a scratch Neo4j: docs/verification.md) and "Copy off-site" (rclone:
docs/offsite-copies.md) on a backup's page and on many."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from security import proof
from security.actors import Actor

from ...admin.records import RecordAdmin, run_link
from ...humanize import human_seconds, human_since, human_size
from ...models import Backup, BackupCopy
from ...runs import outage as run_outage
from ...runs import requests as run_requests
from ...runs.admin import warn_if_no_worker
from ...runs.contract import OperationBusy, OperationFailed
from ...targets import get_target
from .. import offsite, services
from ..procedures.outage import outage_words
from .adopt import adopt_remote_view


class OffsiteFilter(admin.SimpleListFilter):
    title = "off-site copy"
    parameter_name = "offsite"

    def lookups(self, request, model_admin):
        return [("copied", "copied"), ("failed", "failed"), ("none", "none")]

    def queryset(self, request, queryset):
        ok = BackupCopy.State.OK
        if self.value() == "copied":
            return queryset.filter(copies__state=ok).distinct()
        if self.value() == "failed":
            return queryset.filter(copies__state=BackupCopy.State.FAILED).exclude(copies__state=ok).distinct()
        if self.value() == "none":
            return queryset.exclude(copies__state=ok).exclude(copies__state=BackupCopy.State.FAILED)
        return queryset


# The facts on a backup's own page, in order (the admin's display methods below, and model fields).
FACTS = (
    "file",
    "made",
    "size_in_full",
    "sha256_display",
    "contents",
    "neo4j_version",
    "where",
    "purpose",
    "procedure_words",
    "requested",
    "run_link",
    "missing_since",
)
VERIFICATION = ("verification_summary", "verification_found", "last_drill")


@admin.register(Backup)
class BackupAdmin(RecordAdmin):
    # What decides which backup to restore, narrow enough for a 1366 px screen; the rest is on the backup's page.
    list_display = (
        "file_name",
        "age",
        "size_display",
        "purpose",
        "procedure",
        "verified",
        "offsite_copy",
        "restore_link",
    )
    change_list_template = "admin/operations/backup/change_list.html"
    list_filter = ("verification", OffsiteFilter, "purpose", "procedure", "target")
    search_fields = ("file_name", "sha256", "requested_by_label")
    actions = ["restore_selected", "verify_selected", "copy_selected"]
    # A backup's own page: each fact once, in words (the list above keeps the short forms); nothing on it is edited.
    fieldsets = [
        (None, {"fields": list(FACTS)}),
        ("Verification", {"fields": list(VERIFICATION)}),
        ("Off-site", {"fields": ["offsite_copies"]}),
        ("The portal's own database", {"fields": ["portal_db_copy"]}),
    ]
    readonly_fields = [*FACTS, *VERIFICATION, "offsite_copies", "portal_db_copy"]

    def get_fieldsets(self, request: HttpRequest, obj=None):
        if obj is None or obj.missing_since is not None:
            return self.fieldsets
        _, *rest = self.fieldsets
        return [(None, {"fields": [f for f in FACTS if f != "missing_since"]}), *rest]

    @admin.display(description="file")
    def file(self, backup: Backup) -> str:
        return backup.file_name

    @admin.display(description="procedure")
    def procedure_words(self, backup: Backup) -> str:
        return backup.get_procedure_display()

    @admin.display(description="made")
    def made(self, backup: Backup) -> str:
        return f"{backup.created_at:%Y-%m-%d %H:%M:%S} UTC ({human_since(backup.created_at)} ago)"

    @admin.display(description="size")
    def size_in_full(self, backup: Backup) -> str:
        return f"{human_size(backup.size)} ({backup.size:,} bytes)"

    @admin.display(description="SHA-256")
    def sha256_display(self, backup: Backup) -> str:
        return format_html("<code>{}</code>", backup.sha256)

    @admin.display(description="contents")
    def contents(self, backup: Backup) -> str:
        if backup.node_count is None:
            return "not counted"
        return f"{backup.node_count:,} nodes, {backup.relationship_count or 0:,} relationships"

    @admin.display(description="database")
    def where(self, backup: Backup) -> str:
        return f"database {backup.database} on the {backup.target} target"

    @admin.display(description="requested by")
    def requested(self, backup: Backup) -> str:
        return backup.requested_by.get_username() if backup.requested_by else backup.requested_by_label

    @admin.display(description="what it found")
    def verification_found(self, backup: Backup) -> str:
        return backup.verification_detail or "-"

    @admin.display(description="verification")
    def verification_summary(self, backup: Backup) -> str:
        if backup.verification == Backup.Verification.NEVER:
            return "never verified"
        by = format_html(" by {}", run_link(backup.verified_by_run_id)) if backup.verified_by_run_id else ""
        return format_html("{}{}", self.verified(backup), by)

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).prefetch_related("copies")

    @admin.display(description="made", ordering="created_at")
    def age(self, backup: Backup) -> str:
        return format_html(
            '<span title="{} UTC">{} ago</span>',
            f"{backup.created_at:%Y-%m-%d %H:%M:%S}",
            human_since(backup.created_at),
        )

    @admin.display(description="size", ordering="size")
    def size_display(self, backup: Backup) -> str:
        return format_html('<span title="{} bytes">{}</span>', backup.size, human_size(backup.size))

    @admin.display(description="off-site")
    def offsite_copy(self, backup: Backup) -> str:
        copies = list(backup.copies.all())
        if not copies:
            return "none"
        state: str = BackupCopy.State.OK if any(c.state == BackupCopy.State.OK for c in copies) else copies[0].state
        colour = {str(BackupCopy.State.OK): "green", str(BackupCopy.State.FAILED): "red"}.get(state, "inherit")
        label = {str(BackupCopy.State.OK): "copied", str(BackupCopy.State.FAILED): "failed"}.get(state, "pending")
        return format_html(
            '<span class="offsite-{}" style="color:{}" title="{}">{}</span>',
            state,
            colour,
            "; ".join(offsite.describe(c) for c in copies),
            label,
        )

    @admin.display(description="off-site copies")
    def offsite_copies(self, backup: Backup) -> str:
        copies = list(backup.copies.all())
        if not copies:
            return "none" + ("" if offsite.configured() else " (off-site copies are off: PORTAL_OFFSITE_REMOTE)")
        return format_html(
            '<ul class="offsite-copies">{}</ul>',
            format_html_join("", "<li>{}</li>", ((offsite.describe(c),) for c in copies)),
        )

    @admin.action(description="Copy the selected backups off-site (rclone; one run)", permissions=["verify"])
    def copy_selected(self, request: HttpRequest, queryset) -> HttpResponse | None:
        return self._request_copy(request, list(queryset.order_by("created_at", "pk")))

    def _request_copy(self, request: HttpRequest, backups: list[Backup]) -> HttpResponse:
        try:
            run = services.request_copy(backups, request.user)
        except (OperationBusy, OperationFailed) as exc:
            self.message_user(request, f"Off-site copy refused: {exc}", messages.ERROR)
            return redirect("admin:operations_backup_changelist")
        self.message_user(request, f"Copy #{run.pk} of {len(backups)} backup(s) requested.", messages.SUCCESS)
        warn_if_no_worker(self, request)
        return redirect("admin:operations_operationrun_change", run.pk)

    def copy_view(self, request: HttpRequest, backup_id: int) -> HttpResponse:
        """POST only (the button on the backup's page): copy this backup off-site."""
        if not self.has_verify_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return redirect("admin:operations_backup_change", backup_id)
        return self._request_copy(request, [get_object_or_404(Backup, pk=backup_id)])

    def changelist_view(self, request: HttpRequest, extra_context=None):
        # Django answers an action the user may not run with the list again; refuse it outright.
        if (
            request.method == "POST"
            and "action" in request.POST
            and request.POST["action"] not in self.get_actions(request)
        ):
            raise PermissionDenied
        extra = {"may_back_up": services.can_back_up(request.user), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    def has_restore_permission(self, request: HttpRequest) -> bool:
        return services.can_restore(request.user)

    def has_verify_permission(self, request: HttpRequest) -> bool:
        return services.can_back_up(request.user)

    @admin.display(description="verified", ordering="verified_at")
    def verified(self, backup: Backup) -> str:
        if backup.verification == Backup.Verification.NEVER:
            return "never"
        colour = "green" if backup.verification == Backup.Verification.OK else "red"
        return format_html(
            '<span class="verification-{}" style="color:{}" title="{}">{} {}</span>',
            backup.verification,
            colour,
            backup.verification_detail,
            backup.get_verification_display(),
            f"{backup.verified_at:%Y-%m-%d %H:%M} UTC" if backup.verified_at else "",
        )

    @admin.display(description="last restore drill")
    def last_drill(self, backup: Backup) -> str:
        """The newest drill (a verify run beat requested) that took this backup (the status page has the target's)."""
        run = next(iter(backup.verify_runs(Actor.drill().label)), None)
        if run is None:
            return "none on this backup"
        return format_html('{} {} ({})', run_link(run.pk), run.status, f"{run.requested_at:%Y-%m-%d %H:%M} UTC")

    @admin.action(description="Verify the selected backups (in a scratch Neo4j; one run)", permissions=["verify"])
    def verify_selected(self, request: HttpRequest, queryset) -> HttpResponse | None:
        return self._request_verify(request, list(queryset.order_by("created_at", "pk")))

    def _request_verify(self, request: HttpRequest, backups: list[Backup]) -> HttpResponse:
        try:
            run = services.request_verify(backups, request.user)
        except (OperationBusy, OperationFailed) as exc:
            self.message_user(request, f"Verification refused: {exc}", messages.ERROR)
            return redirect("admin:operations_backup_changelist")
        self.message_user(request, f"Verify #{run.pk} of {len(backups)} backup(s) requested.", messages.SUCCESS)
        warn_if_no_worker(self, request)
        return redirect("admin:operations_operationrun_change", run.pk)

    def verify_view(self, request: HttpRequest, backup_id: int) -> HttpResponse:
        """POST only (the button on the backup's page): request a verification of this backup."""
        if not self.has_verify_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return redirect("admin:operations_backup_change", backup_id)
        return self._request_verify(request, [get_object_or_404(Backup, pk=backup_id)])

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        extra = {
            "may_restore": self.has_restore_permission(request),
            "may_verify": self.has_verify_permission(request),
            "may_copy": offsite.configured(),
            "may_download": self.has_restore_permission(request),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra_context=extra)

    @admin.display(description="portal database copy")
    def portal_db_copy(self, backup: Backup) -> str:
        """Beside the dump: a copy of the portal's own database; how to put one back: docs/portal-database-backup.md."""
        if not backup.portal_db_file:
            return "none (see the run's log)"
        size = human_size(backup.portal_db_size or 0)
        return format_html("{} ({}; SHA-256 <code>{}</code>)", backup.portal_db_file, size, backup.portal_db_sha256)

    @admin.display(description="made by")
    def run_link(self, backup: Backup) -> str:
        return run_link(backup.made_by_run_id)

    @admin.display(description="restore")
    def restore_link(self, backup: Backup) -> str:
        url = reverse("admin:operations_backup_restore", args=[backup.pk])
        return format_html('<a class="restore-link" href="{}">Restore…</a>', url)

    @admin.action(description="Restore the state store from the selected backup", permissions=["restore"])
    def restore_selected(self, request: HttpRequest, queryset) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one backup to restore.", messages.WARNING)
            return None
        return redirect("admin:operations_backup_restore", queryset.get().pk)

    def get_urls(self):
        return [
            path(
                "<int:backup_id>/restore/",
                self.admin_site.admin_view(self.restore_view),
                name="operations_backup_restore",
            ),
            path(
                "<int:backup_id>/verify/", self.admin_site.admin_view(self.verify_view), name="operations_backup_verify"
            ),
            path("<int:backup_id>/copy/", self.admin_site.admin_view(self.copy_view), name="operations_backup_copy"),
            path(
                "<int:backup_id>/download/",
                self.admin_site.admin_view(self.download_view),
                name="operations_backup_download",
            ),
            path("backup-now/", self.admin_site.admin_view(self.backup_now_view), name="operations_backup_now"),
            path(
                "adopt-remote/",
                self.admin_site.admin_view(lambda request: adopt_remote_view(self, request)),
                name="operations_backup_adopt",
            ),
            *super().get_urls(),
        ]

    def download_view(self, request: HttpRequest, backup_id: int) -> HttpResponseBase:
        """The dump itself, streamed, to those who may restore and after the step-up: it holds every identity's
        e-mail address and key hash. Each download is in the backup's history (the admin's log)."""
        if not self.has_restore_permission(request):
            raise PermissionDenied
        backup = get_object_or_404(Backup, pk=backup_id)
        if step_up := proof.require(request, f"download {backup.file_name}"):
            return step_up
        try:
            stream = services.open_dump(backup)
        except OperationFailed as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return redirect("admin:operations_backup_change", backup.pk)
        self.log_change(request, backup, f"Downloaded {backup.file_name} ({human_size(backup.size)})")
        response = FileResponse(stream, as_attachment=True, filename=backup.file_name)
        response["X-Checksum-SHA256"] = backup.sha256  # the catalog's: check the file against it after
        return response

    def backup_now_view(self, request: HttpRequest) -> HttpResponse:
        """GET: what a backup will do (steps and exact commands); POST: request it."""
        if not services.can_back_up(request.user):
            raise PermissionDenied
        if request.method == "POST":
            try:
                run = services.request_backup(request.user)
            except (OperationBusy, OperationFailed) as exc:
                self.message_user(request, f"Backup refused: {exc}", messages.ERROR)
                return redirect("admin:operations_operationrun_changelist")
            self.message_user(request, f"Backup #{run.pk} requested; a worker will carry it out.", messages.SUCCESS)
            warn_if_no_worker(self, request)
            return redirect("admin:operations_operationrun_change", run.pk)
        plan = services.preview_backup()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Back up the state store now",
            "plan": plan,
            "outage": _outage_headline(plan, "backup", get_target()),
            "active": run_requests.active_run(),
            "no_worker": run_requests.no_worker_warning(),
        }
        return TemplateResponse(request, "admin/operations/backup_now.html", context)

    def restore_view(self, request: HttpRequest, backup_id: int) -> HttpResponse:
        """What will be replaced, the exact steps and commands, and a field to type the database name."""
        if not self.has_restore_permission(request):
            raise PermissionDenied
        backup = get_object_or_404(Backup, pk=backup_id)
        if step_up := proof.require(request, f"restore from {backup.file_name}"):
            return step_up
        target = get_target(backup.target)
        error = ""
        if request.method == "POST":
            try:
                run = services.request_restore(
                    backup, request.POST.get("confirmation", "").strip(), request.user, target=target
                )
            except (OperationBusy, OperationFailed) as exc:
                error = str(exc)
            else:
                self.message_user(request, f"Restore #{run.pk} from {backup.file_name} requested.", messages.SUCCESS)
                warn_if_no_worker(self, request)
                return redirect("admin:operations_operationrun_change", run.pk)
        try:
            plan = services.preview_restore(backup, target)
        except OperationFailed as exc:
            plan, error = [], error or str(exc)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Restore from {backup.file_name}?",
            "backup": backup,
            "target": target,
            "database": target.connection.database,
            "current": services.store_counts(target),
            "plan": plan,
            "outage": _outage_headline(plan, "restore", target) if plan else "",
            "error": error,
            "active": run_requests.active_run(target.name),
            "no_worker": run_requests.no_worker_warning(),
        }
        return TemplateResponse(
            request,
            "admin/operations/restore_confirm.html",
            context,
            status=400 if error and request.method == "POST" else 200,
        )


def _outage_headline(plan: list[dict], kind: str, target) -> str:
    """What the plan means for Neo4j's availability, in one sentence from its own step descriptions, and how long
    the whole run takes as the last one of its kind did."""
    words = " ".join(step["description"] for step in plan)
    if "NO OUTAGE" in words:
        headline = "Neo4j keeps running throughout: the store is copied from an atomic snapshot."
    elif (begins := next((s for s in plan if "THE OUTAGE BEGINS" in s["description"]), None)) is None:
        first = run_outage.expected_outage(target.name, kind) is None
        headline = (
            f"Neo4j will be unavailable while the store is dumped (stopped, dumped, started again): "
            f"{outage_words(target, kind)}{', plus the time the dump takes' if first else ''}."
        )
    else:
        expected = begins["description"].rpartition("(expected: ")[2].rstrip(")")
        headline = (
            f"Neo4j will be unavailable from step {begins['position']} ({begins['name']}) until it is started "
            f"again: {expected}."
        )
    took = run_outage.expected_duration(target.name, kind)
    if took is None:
        return f"{headline} The whole run's length is not known yet: this is the first {kind} here."
    return f"{headline} The whole run takes about {human_seconds(took)}, as the last {kind} did."
