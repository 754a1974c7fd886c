"""The passkey pages and ceremonies: the Passkeys page (enrol, name, remove, recovery codes for passkey-only
accounts) and django-otp-webauthn's four JSON endpoints, narrowed to the portal's rules. Thin over passkeys.py.

Who may start a ceremony:

- *registration*: active staff only; the library refuses an account with a second factor whose session has not given
  it, and here such an account also needs a recent proof (proof.py), as replacing the authenticator does;
- *authentication* with a session (the login's second step, the step-up): the person's own passkeys only (the library
  lists them and refuses another's); success is the second factor and a fresh proof;
- *authentication* without one (the login page): a discoverable passkey with user verification, which the library
  demands when nobody is signed in, of active staff; success signs in with both factors (docs/security.md).

Every success and every refusal is written to the audit list."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth import login as auth_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django_otp import login as otp_login
from django_otp_webauthn import exceptions
from django_otp_webauthn import views as webauthn

from . import passkeys, proof, twofactor
from .views import _address, _context, _verified, staff_only


class StepUpNeeded(exceptions.OTPWebAuthnApiError):
    status_code = 403
    default_detail = "Confirm it is you first: your last confirmation is too old. Reload the page."
    default_code = "step_up_needed"


class NotStaff(exceptions.OTPWebAuthnApiError):
    status_code = 403
    default_detail = "Passkeys are for staff accounts."
    default_code = "not_staff"


class _Audited:
    """Refusals into the audit list, with where they happened. Without a session only a refused passkey at the
    login page is recorded (nobody's name is known then): anyone can call the other endpoints, and a list filled
    with their noise would hide what matters."""

    where = ""
    audit_anonymous = False

    def handle_exception(self, exc):
        request = self.request  # set by View.setup
        user = request.user
        if isinstance(exc, exceptions.OTPWebAuthnApiError) and (user.is_authenticated or self.audit_anonymous):
            username = user.get_username() if user.is_authenticated else ""
            passkeys.record_refusal(username, _address(request), self.where or _where(request), exc.code)
        return super().handle_exception(exc)  # type: ignore[misc]  # the library's view, next in the MRO


def _where(request: HttpRequest) -> str:
    user: Any = request.user
    if not user.is_authenticated:
        return "sign-in without password"
    return "step-up" if user.is_verified() else "login"


class _RegistrationRules:
    def check_can_register(self):
        request = self.request  # set by View.setup
        if not request.user.is_staff:
            raise NotStaff()
        if twofactor.has_second_factor(request.user) and not proof.is_recent(request):
            raise StepUpNeeded()


class BeginRegistration(_Audited, _RegistrationRules, webauthn.BeginCredentialRegistrationView):
    where = "passkey enrolment"


class CompleteRegistration(_Audited, _RegistrationRules, webauthn.CompleteCredentialRegistrationView):
    where = "passkey enrolment"

    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)
        # The first second factor of the account: the session is now verified by it (the library's otp_login), so
        # it gets a new key, and the enrolment counts as a proof, as the authenticator's first code does.
        self.request.session.cycle_key()
        proof.mark(self.request)
        return response


class BeginAuthentication(_Audited, webauthn.BeginCredentialAuthenticationView):
    pass


class CompleteAuthentication(_Audited, webauthn.CompleteCredentialAuthenticationView):
    audit_anonymous = True

    def check_device_usable(self, device) -> None:
        super().check_device_usable(device)
        if not device.user.is_staff:
            raise NotStaff()

    def complete_auth(self, device):
        request = self.request
        where = _where(request)
        if request.user.is_authenticated:
            _verified(request, device)  # a new session key, verified by this passkey, a fresh proof
        else:
            user = authenticate(request, webauthn_credential=device)
            if user is None:
                raise exceptions.UserDisabled()
            auth_login(request, user)  # a new session key; the login signal marks the proof
            otp_login(request, device)
        passkeys.record_use(device.user, device, _address(request), where)


# ---- the Passkeys page -------------------------------------------------------------------------------------
@staff_only
def passkeys_page(request: HttpRequest) -> HttpResponse:
    """List the person's passkeys; add one (the browser's own dialog), rename and remove them."""
    user: Any = request.user  # django-otp's middleware adds is_verified()
    here = reverse("passkeys")
    if twofactor.has_second_factor(user):
        if not user.is_verified():
            return redirect(reverse("two-factor-verify") + "?next=" + here)
        if response := proof.require(request, "change your passkeys"):
            return response
    if request.method == "POST":
        return _change(request, user, here)
    response = TemplateResponse(
        request,
        "security/passkeys.html",
        _context(
            request,
            "Passkeys",
            passkeys=list(passkeys.passkeys_of(user)),
            required=twofactor.required_for(user) and not twofactor.has_second_factor(user),
            recovery_left=twofactor.recovery_codes_left(user),
            sign_in=passkeys.passwordless_allowed(),
            name_length=passkeys.NAME_LENGTH,
        ),
    )
    add_never_cache_headers(response)
    return response


def _change(request: HttpRequest, user, here: str) -> HttpResponse:
    action = request.POST.get("action")
    address = _address(request)
    try:
        if action == "rename":
            device = passkeys.rename(user, request.POST.get("passkey"), request.POST.get("name", ""), address)
            messages.success(request, f"Passkey named {device.name}.")
        elif action == "remove":
            name = passkeys.remove(user, request.POST.get("passkey"), address)
            messages.success(request, f"Passkey {name} removed: it no longer signs you in.")
        elif action == "recovery-codes":
            codes = twofactor.first_recovery_codes(user, address)
            if codes:
                response = TemplateResponse(
                    request,
                    "security/recovery_codes.html",
                    _context(request, "Your recovery codes", codes=codes, next=here, what="Your passkeys are set up"),
                )
                add_never_cache_headers(response)
                return response
            messages.error(request, "You still have recovery codes (or no passkey): no new set was made.")
        else:
            messages.error(request, "Unknown action.")
    except (LookupError, ValueError) as exc:
        messages.error(request, str(exc))
    return HttpResponseRedirect(here)
