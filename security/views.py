"""The second step of the login, TOTP enrolment with recovery codes, and the step-up page. Thin over twofactor.py."""

from __future__ import annotations

import functools
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django_otp import login as otp_login

from . import oidc, proof, twofactor

#: the session's enrolment page: which unconfirmed authenticator's secret it was shown
ENROL_DEVICE_KEY = "portal_enrol_device"


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "inputmode": "text"}),
        help_text="The six digits your authenticator app shows now, or one of your recovery codes.",
    )


class PasswordForm(forms.Form):
    password = forms.CharField(label="Password", widget=forms.PasswordInput(attrs={"autofocus": True}))


def staff_only(view):
    """Logged-in staff (the password is enough): these pages are where the second factor is given."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if not (request.user.is_active and request.user.is_staff):
            return redirect_to_login(request)
        return view(request, *args, **kwargs)

    return csrf_protect(never_cache(wrapped))


def redirect_to_login(request: HttpRequest) -> HttpResponse:
    from django.contrib.auth.views import redirect_to_login as to_login

    return to_login(request.get_full_path(), reverse("admin:login"))


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("admin:index")


def _address(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _context(request: HttpRequest, title: str, **extra) -> dict:
    # The admin's frame without the app list: a password-only session must not see what lies behind the second step.
    return {
        **admin.site.each_context(request),
        "available_apps": [],
        "is_nav_sidebar_enabled": False,
        "title": title,
        **extra,
    }


def _verified(request: HttpRequest, device) -> None:
    request.session.cycle_key()
    otp_login(request, device)
    proof.mark(request)


@staff_only
def verify(request: HttpRequest) -> HttpResponse:
    """The login's second step: a code from the authenticator, or a recovery code."""
    user: Any = request.user  # django-otp's middleware adds is_verified()
    if user.is_verified() or not twofactor.has_second_factor(user):
        return HttpResponseRedirect(_next(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        check = twofactor.check_code(user, form.cleaned_data["code"], _address(request), "login")
        if check.ok:
            _verified(request, check.device)
            if check.recovery:
                left = twofactor.recovery_codes_left(user)
                messages.warning(
                    request,
                    f"Recovery code used; {left} left. Enrol your authenticator again to get a new set if you lost it.",
                )
            return HttpResponseRedirect(_next(request))
        form.add_error("code", check.message)
    return TemplateResponse(
        request,
        "security/verify.html",
        _context(request, "Second step: your code", form=form, next=_next(request), signed_in=_first_step(request)),
    )


def _first_step(request: HttpRequest) -> str:
    """How the person passed the first step, in words for the second step's page."""
    if oidc.SESSION_KEY in request.session:
        return f"through {settings.OIDC_PROVIDER_NAME}"
    return "with the password"


@staff_only
def enrol(request: HttpRequest) -> HttpResponse:
    """Scan the QR code (or type the secret), confirm with a code: then the recovery codes are shown once."""
    user: Any = request.user  # django-otp's middleware adds is_verified()
    if twofactor.has_second_factor(user):
        if not user.is_verified():
            return redirect(reverse("two-factor-verify") + "?next=" + reverse("two-factor-enrol"))
        # Replacing a working authenticator is a sensitive change: a recent proof first.
        if response := proof.require(request, "enrol a new authenticator"):
            return response
    form = CodeForm(request.POST or None)
    form.fields["code"].help_text = "The six digits the authenticator app shows for this account now."
    # A POST confirms only the secret this session was shown; any other request is a new visit with a new secret.
    if request.method != "POST":
        device = twofactor.open_enrolment(user, _address(request))
        request.session[ENROL_DEVICE_KEY] = device.pk
    elif (shown := twofactor.shown_device(user, request.session.get(ENROL_DEVICE_KEY))) is None:
        # Not a new secret in answer to a POST: that would void the one another visit is confirming right now.
        messages.error(request, "The secret you were shown was replaced (the page was opened again): use this one.")
        return HttpResponseRedirect(request.get_full_path())
    else:
        device = shown
    if request.method == "POST" and form.is_valid():
        check, codes = twofactor.confirm_enrolment(user, device, form.cleaned_data["code"], _address(request))
        if check.ok:
            request.session.pop(ENROL_DEVICE_KEY, None)
            _verified(request, check.device)
            response = TemplateResponse(
                request,
                "security/recovery_codes.html",
                _context(request, "Your recovery codes", codes=codes, next=_next(request)),
            )
            add_never_cache_headers(response)
            return response
        form.add_error("code", check.message)
    context = _context(
        request,
        "Set up two-factor login",
        form=form,
        qr_svg=twofactor.qr_svg(device),
        secret=twofactor.secret_base32(device),
        issuer=settings.OTP_TOTP_ISSUER,
        required=twofactor.required_for(user),
        replacing=twofactor.has_second_factor(user),
        next=_next(request),
    )
    response = TemplateResponse(request, "security/enrol.html", context)
    add_never_cache_headers(response)
    return response


def step_up(request: HttpRequest) -> HttpResponse:
    """Prove it again (code, or password without 2FA), then back to what was asked for."""
    user = request.user
    stash = request.session.get(proof.STASH_KEY) or {"url": reverse("admin:index"), "method": "GET", "what": ""}
    with_code = twofactor.has_second_factor(user)
    if request.method == "GET" and proof.STASH_KEY in request.session and proof.is_recent(request):
        # Proven meanwhile (a passkey on this page: its script comes back here): on to what was asked for.
        return _continue(request, stash)
    form = (CodeForm if with_code else PasswordForm)(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if with_code:
            check = twofactor.check_code(user, form.cleaned_data["code"], _address(request), "step-up")
            ok, message = check.ok, check.message
            if ok:
                _verified(request, check.device)
        else:
            ok = authenticate(request, username=user.get_username(), password=form.cleaned_data["password"]) is not None
            message = "Wrong password."
            if ok:
                proof.mark(request)
            else:
                twofactor.record(
                    user.get_username(), twofactor.SecurityEvent.Kind.STEP_UP_FAILED, address=_address(request)
                )
        if ok:
            return _continue(request, stash)
        form.add_error(None, message)
    return TemplateResponse(
        request,
        "security/step_up.html",
        _context(
            request,
            "Confirm it is you",
            form=form,
            with_code=with_code,
            what=stash.get("what", ""),
            minutes=round(settings.STEP_UP_SECONDS / 60),
            back=reverse("admin:index"),
        ),
    )


def _continue(request: HttpRequest, stash: dict) -> HttpResponse:
    """After the proof: a GET goes on to its page; a POST is shown as a form to send again."""
    request.session.pop(proof.STASH_KEY, None)
    if stash["method"] != "POST":
        return HttpResponseRedirect(stash["url"])
    fields = [(name, value) for name, values in stash.get("post", {}).items() for value in values]
    return TemplateResponse(
        request,
        "security/step_up_continue.html",
        _context(request, "Confirmed: continue", stash=stash, fields=fields),
    )


step_up = admin.site.admin_view(step_up)
