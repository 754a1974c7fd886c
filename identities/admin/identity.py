"""The built-in Django admin for alchemiscale's user and compute identities, on the Neo4j adapter."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import ShowFacets
from django.core.exceptions import PermissionDenied
from django.forms import modelform_factory
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.debug import sensitive_post_parameters

from identities import services, writes
from identities.audit import Actor
from identities.models import ParkedKey
from identities.nodes import COMPUTE, USER, ComputeIdentity, IdentityKind, UserIdentity
from identities.rules import IdentityError

from . import operations, transfer
from .changelist import CappedPaginator, NodeChangeList
from .filters import DisabledFilter, ExpiredFilter, OrgFilter
from .forms import AddIdentityForm, ChangeIdentityForm, describe_scope
from .queryset import NodeQuerySet

SHOWN_SCOPES = 4


class IdentityAdmin(admin.ModelAdmin):
    kind: IdentityKind
    list_filter = (DisabledFilter, ExpiredFilter, OrgFilter)
    search_fields = ("identifier", "email", "full_name")
    search_help_text = "Finds identities whose identifier, email or full name contains the text (any case)."
    list_per_page = 100
    list_max_show_all = 100  # "show all" would load every node
    show_full_result_count = False
    show_facets = ShowFacets.NEVER
    actions = [
        "add_scope_action",
        "remove_scope_action",
        "rotate_key_action",
        "disable_action",
        "enable_action",
        "delete_action",
        "export_csv_action",
    ]
    change_list_template = "admin/identities/identity/change_list.html"
    change_form_template = "admin/identities/identity/change_form.html"

    # ---- permissions: the codenames of identities.models.IDENTITY_PERMISSIONS ------------------------------
    def _has(self, request, codename: str) -> bool:
        return request.user.has_perm(f"identities.{codename}")

    def has_view_permission(self, request, obj=None):
        return self._has(request, "view_identity") or self.has_change_permission(request, obj)

    def has_add_permission(self, request):
        return self._has(request, "add_identity")

    def has_change_permission(self, request, obj=None):
        return self._has(request, "change_identity")

    def has_delete_permission(self, request, obj=None):
        return self._has(request, "delete_identity")

    def has_rotate_key_permission(self, request, obj=None):
        return self._has(request, "rotate_identity_key")

    def has_disable_permission(self, request, obj=None):
        return self._has(request, "disable_identity")

    # ---- the list ------------------------------------------------------------------------------------------
    def get_queryset(self, request):
        return NodeQuerySet(self.kind)

    def get_changelist(self, request, **kwargs):
        return NodeChangeList

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        try:
            page_number = int(request.GET.get("p", 1))
        except ValueError:
            page_number = 1
        return CappedPaginator(queryset, per_page, orphans, allow_empty_first_page, page_number)

    def get_search_results(self, request, queryset, search_term):
        return queryset.searching(search_term), False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # replaced by delete_action, which goes through the services
        return actions

    @admin.display(description=mark_safe('<input type="checkbox" id="action-toggle">'))
    def action_checkbox(self, obj):
        # Same markup as Django's, without rendering a widget template per row (a third of a 100-row page's time).
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" '
            'aria-label="Select this object for an action - {}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            obj,
        )

    @admin.display(description="identifier", ordering="identifier")
    def identifier_column(self, obj):
        return obj.identifier

    @admin.display(description="status", ordering="disabled")
    def status_column(self, obj):
        if obj.disabled:
            return "disabled"
        return "expired" if obj.is_expired() else "active"

    @admin.display(description="scopes")
    def scopes_column(self, obj):
        scopes = list(obj.scopes or [])
        more = f" (+{len(scopes) - SHOWN_SCOPES})" if len(scopes) > SHOWN_SCOPES else ""
        return ", ".join(scopes[:SHOWN_SCOPES]) + more

    @admin.display(description="email", ordering="email")
    def email_column(self, obj):
        return obj.email or ""

    @admin.display(description="expires", ordering="expires")
    def expires_column(self, obj):
        return obj.expires

    # ---- one identity --------------------------------------------------------------------------------------
    def get_object(self, request, object_id, from_field=None):
        return services.get_identity(self.kind, object_id)

    def get_form(self, request, obj=None, change=False, **kwargs):
        base = ChangeIdentityForm if obj is not None else AddIdentityForm
        return modelform_factory(self.model, form=type(base.__name__, (base,), {"kind": self.kind}), fields=[])

    def get_readonly_fields(self, request, obj=None):
        return (
            ()
            if obj is None
            else (
                "identifier_shown",
                "status_shown",
                "key_shown",
                "scopes_shown",
                "email_shown",
                "full_name_shown",
                "expires_shown",
            )
        )

    def get_fieldsets(self, request, obj=None):
        full_name = ["full_name"] if "full_name" in self.kind.detail_fields else []
        if obj is None:
            return [
                (None, {"fields": ["identifier", "key_choice", "key"]}),
                ("Scopes", {"fields": ["scopes"]}),
                ("Details", {"fields": ["email", *full_name, "expires"]}),
            ]
        head = (None, {"fields": ["identifier_shown", "status_shown", "key_shown"]})
        if not self.has_change_permission(request, obj):
            shown = ["email_shown", *(["full_name_shown"] if full_name else []), "expires_shown"]
            return [head, ("Scopes", {"fields": ["scopes_shown"]}), ("Details", {"fields": shown})]
        return [
            head,
            ("Scopes", {"fields": ["keep_scopes", "add_scopes"]}),
            ("Details", {"fields": ["email", *full_name, "expires"]}),
        ]

    @admin.display(description="identifier")
    def identifier_shown(self, obj):
        return obj.identifier

    @admin.display(description="status")
    def status_shown(self, obj):
        pending = writes.unfinished(self.kind, obj.identifier)
        unfinished = (
            ""
            if pending is None
            else (
                f"UNFINISHED CHANGE: '{pending.action}', started {pending.started_at:%Y-%m-%d %H:%M} UTC, did not "
                f"complete; {writes.RECONCILE_HINT}. Until then: "
            )
        )
        return unfinished + self._status_text(obj)

    def _status_text(self, obj) -> str:
        parked = ParkedKey.objects.filter(identity_kind=self.kind.name, identifier=obj.identifier).first()
        if services.is_locked(obj, parked):
            assert parked is not None  # is_locked says so
            return (
                f"disabled since {parked.parked_at:%Y-%m-%d %H:%M} UTC: locked out of alchemiscale (its key "
                "hash is parked in the portal; Enable restores it)"
            )
        if obj.disabled:
            return (
                "disabled flag set, but NOT locked out: alchemiscale ignores the flag, so its key still works. "
                "Use Disable to lock it out."
            )
        if obj.is_expired():
            return "expired, but alchemiscale does not check expiry: locked out only when `identity lock-expired` runs"
        return "active"

    @admin.display(description="key")
    def key_shown(self, obj):
        return "stored only as a bcrypt hash; it cannot be shown. Use Rotate key to issue a new one."

    @admin.display(description="scopes")
    def scopes_shown(self, obj):
        return format_html_join("", "<div>{}</div>", ((describe_scope(s),) for s in obj.scopes or [])) or "-"

    @admin.display(description="email")
    def email_shown(self, obj):
        return obj.email or "-"

    @admin.display(description="full name")
    def full_name_shown(self, obj):
        return getattr(obj, "full_name", None) or "-"

    @admin.display(description="expires")
    def expires_shown(self, obj):
        return obj.expires or "-"

    @method_decorator(sensitive_post_parameters("key"))
    def add_view(self, request, form_url="", extra_context=None):
        return super().add_view(request, form_url, extra_context)

    def save_form(self, request, form, change):
        return form.instance

    def save_model(self, request, obj, form, change):
        data, actor = form.cleaned_data, Actor.staff(request.user)
        try:
            if not change:
                key = data["key"] if data["key_choice"] == "enter" else None
                details = {k: v for k, v in data["details"].items() if v is not None}
                node, key = services.add_identity(
                    self.kind, data["identifier"], key, actor, scopes=data["scopes"], **details
                )
                obj.identifier = node.identifier
                request.identity_key_once = (node.identifier, key, data["key_choice"] == "generate")
                return
            if data["removed_scopes"]:
                services.remove_scopes(self.kind, obj.identifier, data["removed_scopes"], actor)
                self.message_user(
                    request, f"Removed {', '.join(data['removed_scopes'])}. {services.TOKEN_NOTE}", messages.WARNING
                )
            if data["add_scopes"]:
                services.add_scopes(self.kind, obj.identifier, data["add_scopes"], actor)
            changed = {k: v for k, v in data["details"].items() if k in form.changed_data}
            if changed:
                services.update_details(self.kind, obj.identifier, actor, **changed)
        except IdentityError as exc:
            request.identity_error = str(exc)

    def save_related(self, request, form, formsets, change):
        pass

    # Every change is already in the identity audit log (written by the services), so Django's LogEntry is not used.
    def log_addition(self, request, obj, message):
        return None

    def log_change(self, request, obj, message):
        return None

    def log_deletion(self, request, obj, object_repr):
        return None

    def response_add(self, request, obj, post_url_continue=None):
        if getattr(request, "identity_error", None):
            self.message_user(request, request.identity_error, messages.ERROR)
            return HttpResponseRedirect(request.path)
        identifier, key, generated = request.identity_key_once
        change_url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[identifier])
        self.message_user(request, f"Added {self.kind.name} identity {identifier}.", messages.SUCCESS)
        if not generated:
            return HttpResponseRedirect(change_url)
        return operations.key_page(
            self, request, [(identifier, key)], f"Key of the new {self.kind.name} identity", change_url
        )

    def response_change(self, request, obj):
        if getattr(request, "identity_error", None):
            self.message_user(request, request.identity_error, messages.ERROR)
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def history_view(self, request, object_id, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        query = urlencode({"identity_kind__exact": self.kind.name, "identifier": object_id})
        return HttpResponseRedirect(reverse("admin:identities_auditentry_changelist") + "?" + query)

    def delete_view(self, request, object_id, extra_context=None):
        return self._object_operation(request, object_id, "delete", self.has_delete_permission)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        return [
            path("export/", wrap(self.export_view), name="%s_%s_export" % info),
            path("import/", wrap(self.import_view), name="%s_%s_import" % info),
            path("<path:object_id>/rotate-key/", wrap(self.rotate_key_view), name="%s_%s_rotate_key" % info),
            path("<path:object_id>/disable/", wrap(self.disable_view), name="%s_%s_disable" % info),
            path("<path:object_id>/enable/", wrap(self.enable_view), name="%s_%s_enable" % info),
        ] + super().get_urls()

    def export_view(self, request):
        return transfer.export_filtered(self, request)

    def import_view(self, request):
        return transfer.import_view(self, request)

    def rotate_key_view(self, request, object_id):
        return self._object_operation(request, object_id, "rotate", self.has_rotate_key_permission)

    def disable_view(self, request, object_id):
        return self._object_operation(request, object_id, "disable", self.has_disable_permission)

    def enable_view(self, request, object_id):
        return self._object_operation(request, object_id, "enable", self.has_disable_permission)

    def _object_operation(self, request, object_id, op_name, allowed):
        if not allowed(request):
            raise PermissionDenied
        obj = self.get_object(request, object_id)
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        info = self.opts.app_label, self.opts.model_name
        after = (
            reverse("admin:%s_%s_changelist" % info)
            if op_name == "delete"
            else reverse("admin:%s_%s_change" % info, args=[obj.identifier])
        )
        response = operations.run(self, request, op_name, [obj.identifier], from_action=False, done_url=after)
        return response or HttpResponseRedirect(after)

    # ---- actions on the selected identities ---------------------------------------------------------------
    @admin.action(description="Add a scope to the selected identities", permissions=["change"])
    def add_scope_action(self, request, queryset):
        return operations.run(self, request, "add_scope", queryset.identifiers(), from_action=True)

    @admin.action(description="Remove a scope from the selected identities", permissions=["change"])
    def remove_scope_action(self, request, queryset):
        return operations.run(self, request, "remove_scope", queryset.identifiers(), from_action=True)

    @admin.action(description="Rotate the key of the selected identities (keeps scopes)", permissions=["rotate_key"])
    def rotate_key_action(self, request, queryset):
        return operations.run(self, request, "rotate", queryset.identifiers(), from_action=True)

    @admin.action(description="Disable the selected identities (lock them out)", permissions=["disable"])
    def disable_action(self, request, queryset):
        return operations.run(self, request, "disable", queryset.identifiers(), from_action=True)

    @admin.action(
        description="Enable the selected identities (their previous keys work again)", permissions=["disable"]
    )
    def enable_action(self, request, queryset):
        return operations.run(self, request, "enable", queryset.identifiers(), from_action=True)

    @admin.action(description="Delete the selected identities", permissions=["delete"])
    def delete_action(self, request, queryset):
        return operations.run(self, request, "delete", queryset.identifiers(), from_action=True)

    @admin.action(description="Export the selected identities as CSV (never keys)", permissions=["view"])
    def export_csv_action(self, request, queryset):
        return transfer.export_selected(self, queryset)

    def changelist_view(self, request, extra_context=None):
        extra = {
            "scopes_url": reverse("identity-scopes"),
            "token_note": services.TOKEN_NOTE,
            "can_import": self.has_add_permission(request) or self.has_change_permission(request),
        }
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            parked = ParkedKey.objects.filter(identity_kind=self.kind.name, identifier=obj.identifier).first()
            context.update(
                {
                    "identity_locked": services.is_locked(obj, parked),
                    "can_rotate": self.has_rotate_key_permission(request),
                    "can_disable": self.has_disable_permission(request),
                    "disable_note": services.DISABLE_NOTE,
                }
            )
        return super().render_change_form(request, context, add, change, form_url, obj)


class UserIdentityAdmin(IdentityAdmin):
    kind = USER
    list_display = (
        "identifier_column",
        "status_column",
        "scopes_column",
        "email_column",
        "full_name_column",
        "expires_column",
    )

    @admin.display(description="full name", ordering="full_name")
    def full_name_column(self, obj):
        return obj.full_name or ""


class ComputeIdentityAdmin(IdentityAdmin):
    kind = COMPUTE
    list_display = ("identifier_column", "status_column", "scopes_column", "email_column", "expires_column")


def register(site: admin.AdminSite) -> None:
    # AdminSite.register treats anything that is not a Django ModelBase as an iterable of models.
    site.register([UserIdentity], UserIdentityAdmin)
    site.register([ComputeIdentity], ComputeIdentityAdmin)
