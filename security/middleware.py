"""Security headers on every response; idle sessions end; a session proven by the password alone reaches only the
second-factor pages until the code is given (or, where 2FA is required, until the person enrolls)."""

from __future__ import annotations

import time
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse

from . import twofactor

# The admin's own static files only: no inline script, no eval, no other origin. Inline styles stay allowed
# (Django's admin templates and the server-drawn SVG charts use them; a style cannot run code).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def content_security_policy() -> str:
    """The policy above; with single sign-on whose log out goes on to the provider, the provider's origin may also
    receive a form (browsers hold the admin's *Log out* form, and the redirect it answers with, to form-action)."""
    if not (settings.OIDC_ENABLED and settings.OIDC_LOGOUT_AT_PROVIDER):
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace("form-action 'self'", f"form-action 'self' {origin(settings.OIDC_ISSUER)}")


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in ("camera", "microphone", "geolocation", "payment", "usb", "serial", "bluetooth", "interest-cohort")
)
# Requests a page makes by itself (a run page's progress poll) say so, and do not count as the person being active.
POLL_HEADER = "HTTP_X_PORTAL_POLL"
SEEN_KEY = "portal_seen_at"
#: when the session began (its first request after the login), for the absolute lifetime
STARTED_KEY = "portal_started_at"


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", content_security_policy())
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", settings.SECURE_REFERRER_POLICY)
        response.headers.setdefault("X-Frame-Options", settings.X_FRAME_OPTIONS)
        return response


def _login_redirect(request: HttpRequest) -> HttpResponse:
    if request.META.get(POLL_HEADER):
        return JsonResponse({"error": "signed out"}, status=401)
    return HttpResponseRedirect(reverse("admin:login") + "?" + urlencode({"next": request.get_full_path()}))


class IdleSessionMiddleware:
    """Ends a session after SESSION_IDLE_SECONDS without a request of the person's own, and after
    SESSION_MAX_SECONDS in all however busy it was (a cookie that leaks does not live for ever)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            seen = request.session.get(SEEN_KEY)
            started = request.session.setdefault(STARTED_KEY, now)
            if now - float(started) > settings.SESSION_MAX_SECONDS:
                logout(request)
                hours = round(settings.SESSION_MAX_SECONDS / 3600, 1)
                messages.info(request, f"You were signed out: a session lasts at most {hours:g} hours.")
                return _login_redirect(request)
            if seen is not None and now - float(seen) > settings.SESSION_IDLE_SECONDS:
                logout(request)
                minutes = round(settings.SESSION_IDLE_SECONDS / 60)
                messages.info(request, f"You were signed out after {minutes} minutes without activity.")
                return _login_redirect(request)
            if not request.META.get(POLL_HEADER) and (seen is None or now - float(seen) >= 10):
                request.session[SEEN_KEY] = now  # saved (and the cookie renewed) only every 10 s at most
        return self.get_response(request)


def _free_paths() -> set[str]:
    # The passkey page and endpoints: a passkey is given (or, as the first second factor, enrolled) from a session
    # the password alone opened; their views refuse the rest (security/passkey_views.py).
    passkey_endpoints = (
        "registration-begin",
        "registration-complete",
        "authentication-begin",
        "authentication-complete",
    )
    return {
        reverse("two-factor-verify"),
        reverse("two-factor-enrol"),
        reverse("passkeys"),
        *(reverse(f"otp_webauthn:credential-{name}") for name in passkey_endpoints),
        reverse("otp_webauthn:js-i18n-catalog"),
        reverse("admin:logout"),
        reverse("admin:login"),
    }


class SecondFactorMiddleware:
    """After the password: staff with a second factor give it before anything else; where 2FA is required, staff
    without one enrol first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not user.is_verified()  # type: ignore[attr-defined]  # added by django-otp's middleware
            and request.path not in _free_paths()
            and not request.path.startswith("/" + settings.STATIC_URL.lstrip("/"))
        ):
            if twofactor.has_second_factor(user):
                return self._to(request, "two-factor-verify")
            if twofactor.required_for(user):
                return self._to(request, "two-factor-enrol")
        return self.get_response(request)

    @staticmethod
    def _to(request: HttpRequest, name: str) -> HttpResponse:
        if request.META.get(POLL_HEADER):
            return JsonResponse({"error": "second factor needed"}, status=401)
        return HttpResponseRedirect(reverse(name) + "?" + urlencode({"next": request.get_full_path()}))
