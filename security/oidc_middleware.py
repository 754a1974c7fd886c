"""The portal's second factor after a single sign-on.

By default a single sign-on counts as the password does: the portal's own second factor follows (the code of an
enrolled authenticator; enrolment first for a person without one, whatever PORTAL_REQUIRE_2FA says, because the
provider's password alone is then all that stands before the portal). Where the token says the provider did
multi-factor (amr/acr, security/oidc.py) and PORTAL_OIDC_TRUST_MFA is on, the session counts as verified as if a
code had been given. Placed after django-otp's middleware and before SecondFactorMiddleware, which then sends the
unverified to the code page as it does after a password.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from . import twofactor
from .middleware import SecondFactorMiddleware, _free_paths
from .oidc import SESSION_KEY


def _sso_paths() -> set[str]:
    # A sign-in answer is judged (and a replayed one refused) whoever holds the session.
    return {reverse("sso-start"), reverse("sso-callback")}


class ProviderMultiFactor:
    """Stands where django-otp keeps the device that verified the session: the provider's multi-factor did."""

    persistent_id = "sso.provider-mfa"
    name = "the sign-in provider's multi-factor"


class SingleSignOnSecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        sso = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        user = request.user
        if sso is not None and user.is_authenticated and not user.is_verified():  # type: ignore[attr-defined]
            if sso.get("mfa") and settings.OIDC_TRUST_MFA:
                user.otp_device = ProviderMultiFactor()  # type: ignore[attr-defined]  # django-otp's attribute
            elif (
                not twofactor.has_second_factor(user)
                and request.path not in _free_paths() | _sso_paths()
                and not request.path.startswith("/" + settings.STATIC_URL.lstrip("/"))
            ):
                return SecondFactorMiddleware._to(request, "two-factor-enrol")
        return self.get_response(request)
