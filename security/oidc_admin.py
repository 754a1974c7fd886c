"""Who is linked to which single sign-on identity (read-only). To stop a person signing in, deactivate the user, or
take them out of the provider's groups."""

from __future__ import annotations

from django.contrib import admin

from .models import OIDCSubject


@admin.register(OIDCSubject)
class OIDCSubjectAdmin(admin.ModelAdmin):
    list_display = ("user", "subject", "issuer", "created", "last_login")
    search_fields = ("user__username", "subject")
    list_select_related = ("user",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
