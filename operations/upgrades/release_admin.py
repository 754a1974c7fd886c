"""The release upgrade page and the users' notice page: the record of release upgrades is the page's changelist.

Both act, so both need the restorer's right (``operations.restore_backup``) and a recent step-up, as a restore does.
Same service functions as ``manage.py upgrade_release`` (``release_services.py``, ``notices.py``).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from operations.admin.records import RecordAdmin, run_link
from operations.models import ReleaseNotice, ReleaseUpgrade
from operations.runs.admin import warn_if_no_worker
from operations.runs.contract import OperationBusy, OperationFailed
from operations.runs.requests import active_run, no_worker_warning
from security import proof

from . import notices, release_services


@admin.register(ReleaseUpgrade)
class ReleaseUpgradeAdmin(RecordAdmin):
    list_display = ("from_tag", "to_tag", "outcome", "at", "by_label", "target", "run_link")
    list_filter = ("outcome", "target")
    readonly_fields = [f.name for f in ReleaseUpgrade._meta.fields]
    change_list_template = "admin/operations/releaseupgrade/change_list.html"

    @admin.display(description="run")
    def run_link(self, record: ReleaseUpgrade) -> str:
        return run_link(record.run_id)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("release/", wrap(self.release_view), name="operations_release_upgrade"),
            path("release/notify/", wrap(self.notify_view), name="operations_release_notice"),
            *super().get_urls(),
        ]

    def release_view(self, request: HttpRequest) -> HttpResponse:
        if not release_services.can_upgrade(request.user):
            raise PermissionDenied
        target = release_services.release_target()
        tag = (request.POST.get("tag") or request.GET.get("tag") or "").strip()
        error, status = "", 200
        if request.method == "POST":
            if step_up := proof.require(request, "upgrade alchemiscale to another release"):
                return step_up
            try:
                run = self._act(request, tag)
            except (OperationFailed, OperationBusy) as exc:
                error, status = str(exc), 400
            else:
                self.message_user(request, f"release upgrade run #{run.pk} requested.", messages.SUCCESS)
                warn_if_no_worker(self, request)
                return redirect("admin:operations_operationrun_change", run.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Upgrade alchemiscale to another release",
            "target": target,
            "tag": tag,
            "overview": release_services.overview(tag, target),
            "interrupted": release_services.interrupted_runs(target),
            "active": active_run(target.name),
            "no_worker": no_worker_warning(),
            "history": ReleaseUpgrade.objects.filter(target=target.name)[:20],
            "error": error,
        }
        return TemplateResponse(request, "admin/operations/release_upgrade.html", context, status=status)

    def _act(self, request: HttpRequest, tag: str):
        action, label = request.POST.get("action", ""), request.user.get_username()
        if action == "run":
            confirmation = request.POST.get("confirmation", "")
            return release_services.request_upgrade(tag, confirmation=confirmation, user=request.user, label=label)
        if action in ("resume", "rollback"):
            try:
                run_id = int(request.POST.get("run", ""))
            except ValueError:
                raise OperationFailed("which run?") from None
            return release_services.follow_up(run_id, action, user=request.user, label=label)
        raise OperationFailed(f"unknown action {action!r}")

    def notify_view(self, request: HttpRequest) -> HttpResponse:
        if not notices.can_notify(request.user):
            raise PermissionDenied
        upgrade = release_services.latest_upgrade()
        version = request.POST.get("version") or (upgrade.to_tag if upgrade else "")
        client = request.POST.get("client_version") or notices.client_version(version)
        subject = request.POST.get("subject") or notices.default_subject(version)
        body = request.POST.get("body") or notices.default_body(version, client)
        error, status, preview = "", 200, request.method == "POST"
        if request.method == "POST" and request.POST.get("action") == "send":
            if step_up := proof.require(request, "send a notice to alchemiscale's users"):
                return step_up
            try:
                notice = notices.send(
                    version=version,
                    client=client,
                    subject=subject,
                    body=body,
                    user=request.user,
                    label=request.user.get_username(),
                    upgrade=upgrade if upgrade and upgrade.to_tag == version else None,
                )
            except (ValueError, OSError) as exc:
                error, status = f"nothing was sent: {exc}", 400
            else:
                level = messages.SUCCESS if not notice.failed else messages.WARNING
                self.message_user(
                    request,
                    f"notice sent to {len(notice.recipients)} user identities; {len(notice.failed)} refused by the "
                    f"mail server; {len(notice.without_email)} have no e-mail address.",
                    level,
                )
                return redirect("admin:operations_releasenotice_change", notice.pk)
        reachable, unreachable = notices.audience()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Tell users about the release",
            "upgrade": upgrade,
            "version": version,
            "client_version": client,
            "subject": subject,
            "body": body,
            "preview": preview,
            "recipients": reachable,
            "without_email": unreachable,
            "error": error,
        }
        return TemplateResponse(request, "admin/operations/release_notice.html", context, status=status)


@admin.register(ReleaseNotice)
class ReleaseNoticeAdmin(RecordAdmin):
    list_display = ("version", "client_version", "sent_at", "by_label", "recipient_count", "failed_count")
    readonly_fields = [f.name for f in ReleaseNotice._meta.fields]

    @admin.display(description="recipients")
    def recipient_count(self, notice: ReleaseNotice) -> int:
        return len(notice.recipients)

    @admin.display(description="refused")
    def failed_count(self, notice: ReleaseNotice) -> int:
        return len(notice.failed)
