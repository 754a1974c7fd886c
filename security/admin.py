"""The sign-in audit log (read-only: second factors, passkeys, single sign-on, step-ups), the superuser's "reset
two-factor devices" action on staff users, and step-up before every change to staff accounts, groups (with their
permissions) and second factors.

django-otp's own device pages are taken out of the admin: they show secrets and would let devices be edited
without the audit list knowing."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import proof, twofactor
from .models import OIDCSubject, SecurityEvent

for model in (TOTPDevice, StaticDevice):
    try:
        admin.site.unregister(model)
    except NotRegistered:
        pass


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record written by the service functions only: listed and opened, never added, changed or deleted here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "username", "kind", "actor", "address", "note")
    list_filter = ("kind", "at")
    search_fields = ("username", "actor", "note")
    date_hierarchy = "at"


@admin.register(OIDCSubject)
class OIDCSubjectAdmin(ReadOnlyAdmin):
    """Who is linked to which single sign-on identity (security/oidc.py). To stop a person signing in, deactivate
    the user or take them out of the provider's groups."""

    list_display = ("user", "subject", "issuer", "created", "last_login")
    search_fields = ("user__username", "subject")
    list_select_related = ("user",)


class StepUpAdmin(admin.ModelAdmin):
    """Every change through this admin (add, change, delete, the list's actions) needs a recent proof, as a restore
    does (security/proof.py): a session left open, or a stolen session cookie, must not be enough to make a
    superuser, set a password or remove someone's second factor. Viewing the lists needs none."""

    #: for the step-up page: "To <what>, confirm it is you"
    step_up_what = "change staff accounts"

    def step_up(self, request, *, before_form: bool = False, replay: bool = True):
        """The step-up redirect, or None. A GET asks only where ``before_form`` (pages that exist only to make a
        change: better asked before the form is filled in than after)."""
        if request.method in ("GET", "HEAD", "OPTIONS") and not before_form:
            return None
        if not (
            self.has_add_permission(request)
            or self.has_change_permission(request)
            or self.has_delete_permission(request)
        ):
            return None  # Django's own checks refuse this person: no proof is asked for what will be refused
        return proof.require(request, self.step_up_what, replay=replay)

    def changelist_view(self, request, extra_context=None):
        # A POST to the list is an action (delete_selected, reset_two_factor) or a list edit.
        return self.step_up(request) or super().changelist_view(request, extra_context)

    def add_view(self, request, form_url="", extra_context=None):
        return self.step_up(request, before_form=True, replay=False) or super().add_view(
            request, form_url, extra_context
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return self.step_up(request) or super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        return self.step_up(request, before_form=True) or super().delete_view(request, object_id, extra_context)


for model in (get_user_model(), Group):
    try:
        admin.site.unregister(model)
    except NotRegistered:
        pass


@admin.register(Group)
class PortalGroupAdmin(StepUpAdmin, GroupAdmin):
    step_up_what = "change groups and their permissions"


User = get_user_model()


@admin.register(User)
class PortalUserAdmin(StepUpAdmin, UserAdmin):
    list_display = (*UserAdmin.list_display, "two_factor")  # type: ignore[misc]
    actions = ["reset_two_factor"]

    def user_change_password(self, request, id, form_url=""):
        # The new password is never kept in the session for the step-up: the person comes back to an empty form.
        return self.step_up(request, before_form=True, replay=False) or super().user_change_password(
            request, id, form_url
        )

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
