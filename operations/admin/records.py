"""What the operations admins share: records that only the portal's procedures write."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html


class RecordAdmin(admin.ModelAdmin):
    """Staff read these rows; the runner and the procedures write them, so nobody adds, changes or deletes one
    here (deleting a backup row would also orphan its file, which is staff's to prune)."""

    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


def run_link(run_id: int | None) -> str:
    """A link to an operation run's page, or '-'."""
    if run_id is None:
        return "-"
    url = reverse("admin:operations_operationrun_change", args=[run_id])
    return format_html('<a href="{}">run #{}</a>', url, run_id)


class SingletonAdmin(admin.ModelAdmin):
    """A settings row of which there is exactly one (``Model.current()`` creates it): its list opens the row."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context=None):
        from django.core.exceptions import PermissionDenied
        from django.shortcuts import redirect

        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        opts = self.model._meta
        return redirect(f"admin:{opts.app_label}_{opts.model_name}_change", self.model.current().pk)
