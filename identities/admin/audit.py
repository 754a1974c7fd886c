"""The identity audit log in the admin: read-only, filterable, searchable."""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html

from identities.audit import in_words
from identities.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("when", "who", "what", "note")
    list_filter = ("action", "identity_kind", "actor_kind", "at")
    search_fields = ("identifier", "actor")
    search_help_text = "Finds entries whose identifier or actor contains the text."
    date_hierarchy = "at"
    list_per_page = 100
    show_full_result_count = False
    fieldsets = [
        (None, {"fields": ["what", "at", "actor", "actor_kind", "action", "identity_kind", "identifier"]}),
        ("Change", {"fields": ["before_shown", "after_shown", "note"]}),
    ]
    readonly_fields = (
        "what",
        "at",
        "actor",
        "actor_kind",
        "action",
        "identity_kind",
        "identifier",
        "before_shown",
        "after_shown",
        "note",
    )

    def lookup_allowed(self, lookup, value, request=None):
        # The identity pages link here with ?identifier=... (their "History").
        return lookup == "identifier" or super().lookup_allowed(lookup, value, request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="before")
    def before_shown(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.before, indent=2, sort_keys=True))

    @admin.display(description="after")
    def after_shown(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.after, indent=2, sort_keys=True))

    @admin.display(description="when (UTC)", ordering="at")
    def when(self, obj):
        return f"{obj.at:%Y-%m-%d %H:%M:%S}"

    @admin.display(description="who", ordering="actor")
    def who(self, obj):
        return obj.actor if obj.actor_kind == AuditEntry.ActorKind.STAFF else f"{obj.actor} (command line)"

    @admin.display(description="what")
    def what(self, obj):
        return in_words(obj)
