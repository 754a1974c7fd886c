"""The fleet audit log in the admin: read only (compute/actions.py writes it)."""

from __future__ import annotations

from django.contrib import admin

from operations.admin.records import RecordAdmin

from .models import FleetAuditEntry


@admin.register(FleetAuditEntry)
class FleetAuditEntryAdmin(RecordAdmin):
    list_display = ("at", "actor", "actor_kind", "action", "note")
    list_filter = ("action", "actor_kind", "at")
    search_fields = ("actor", "note")
    readonly_fields = ("at", "actor", "actor_kind", "action", "changed", "note")
