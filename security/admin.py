"""The two-factor audit log (read-only), and the superuser's "reset two-factor devices" action on staff users.

django-otp's own device pages are taken out of the admin: they show secrets and would let devices be edited
without the audit list knowing."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import twofactor
from .models import SecurityEvent

for model in (TOTPDevice, StaticDevice):
    try:
        admin.site.unregister(model)
    except NotRegistered:
        pass


@admin.register(SecurityEvent)
class SecurityEventAdmin(admin.ModelAdmin):
    list_display = ("at", "username", "kind", "actor", "address", "note")
    list_filter = ("kind", "at")
    search_fields = ("username", "actor", "note")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


User = get_user_model()
try:
    admin.site.unregister(User)
except NotRegistered:
    pass


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    list_display = (*UserAdmin.list_display, "two_factor")  # type: ignore[misc]
    actions = ["reset_two_factor"]

    @admin.display(description="two-factor", boolean=True)
    def two_factor(self, user) -> bool:
        return twofactor.has_second_factor(user)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.is_superuser:
            actions.pop("reset_two_factor", None)
        return actions

    @admin.action(description="Reset the two-factor devices of the selected users (they enrol again)")
    def reset_two_factor(self, request, queryset):
        if not request.user.is_superuser:
            self.message_user(request, "Only superusers may reset two-factor devices.", messages.ERROR)
            return
        address = request.META.get("REMOTE_ADDR")
        names = []
        for user in queryset:
            twofactor.reset_devices(user, request.user.get_username(), address)
            names.append(user.get_username())
        self.message_user(
            request,
            f"Two-factor devices reset for {', '.join(names)}: each enrols again at the next login.",
            messages.SUCCESS,
        )
