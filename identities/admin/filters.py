"""List filters for identities; each hands its choice to NodeQuerySet instead of building a Django lookup."""

from __future__ import annotations

import re

from django.contrib import admin

_ORG = re.compile(r"[a-zA-Z][a-zA-Z0-9_]*")


class DisabledFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "disabled"

    def lookups(self, request, model_admin):
        return [("no", "active"), ("yes", "disabled")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.with_disabled(self.value() == "yes")
        return queryset


class ExpiredFilter(admin.SimpleListFilter):
    title = "expiry"
    parameter_name = "expired"

    def lookups(self, request, model_admin):
        return [("yes", "expired"), ("no", "not expired (or no expiry)")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.with_expired(self.value() == "yes")
        return queryset


class OrgFilter(admin.SimpleListFilter):
    """An org typed in: listing the orgs as links would scan every identity's scopes on each page view (over a
    second at 100,000 identities); the scopes page lists them."""

    title = "granted a scope under org"
    parameter_name = "org"
    template = "admin/identities/identity/org_filter.html"

    def lookups(self, request, model_admin):
        return []

    def has_output(self):
        return True

    def choices(self, changelist):
        yield {
            "value": self.value() or "",
            "clear_query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "hidden": [(k, v) for k, v in changelist.params.items() if k != self.parameter_name],
            "selected": self.value() is None,
        }

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        # An org typed into the URL by hand must still be a valid org part; anything else matches nothing.
        return queryset.with_org(value) if _ORG.fullmatch(value) else queryset.none()
