"""The pages of a single sign-on: the start (to the provider), the callback (back from it), and the admin's log out,
which also ends the provider's session of a person who signed in there. Thin over mozilla-django-oidc's views and
security/oidc.py; the start and the callback answer 404 while PORTAL_OIDC_ISSUER is unset."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import logout
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from . import oidc, proof
from .middleware import origin
from .models import SecurityEvent
from .twofactor import record


def _enabled() -> None:
    if not settings.OIDC_ENABLED:
        raise Http404("single sign-on is not configured")


class StartView(OIDCAuthenticationRequestView):
    """Off to the provider with a new state, nonce and PKCE challenge. ``?again=1`` (the step-up page) asks the
    provider to check the person afresh rather than reuse its own session."""

    def __init__(self, *args, **kwargs):
        # Not the library's __init__: the authorisation endpoint comes from discovery, at the request.
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID

    def get(self, request: HttpRequest) -> HttpResponse:
        _enabled()
        try:
            self.OIDC_OP_AUTH_ENDPOINT = oidc.endpoint("authorization_endpoint")
        except oidc.Refused as exc:
            return _refused(request, str(exc))
        return super().get(request)

    def get_extra_params(self, request: HttpRequest) -> dict[str, str]:
        return {"prompt": "login", "max_age": "0"} if request.GET.get("again") else {}


class CallbackView(OIDCAuthenticationCallbackView):
    """Back from the provider: the state must be one this session started and not used yet (the library keeps it
    in the session and deletes it on first use), then the backend checks the tokens and signs the person in."""

    @property
    def failure_url(self) -> str:
        return reverse("admin:login")

    def get(self, request: HttpRequest) -> HttpResponse:
        _enabled()
        if "oidc_states" not in request.session and "state" in request.GET:
            return _refused(request, "this sign-in answer belongs to no sign-in started in this browser session")
        try:
            response = super().get(request)
        except SuspiciousOperation:
            # The library's words for a state this session never started, or used already (a replayed callback).
            return _refused(request, "this sign-in answer was used already or belongs to another browser session")
        if getattr(self, "user", None) is None or not request.user.is_authenticated:
            reason = getattr(request, oidc.REFUSAL_ATTR, "")
            if not reason and request.GET.get("error"):
                reason = f"the provider said {request.GET['error']}: {request.GET.get('error_description', '')}"
            if not reason and getattr(self, "user", None) is not None:
                reason = "the account is disabled"
            return _refused(request, reason or "the sign-in did not complete", getattr(request, oidc.SUBJECT_ATTR, ""))
        return response

    def login_success(self) -> HttpResponse:
        request = self.request
        sign_in: oidc.SignIn | None = getattr(self.user, "portal_sign_in", None)
        response = super().login_success()
        # Also when the library skipped the login (the same person signing in again, e.g. for a step-up).
        proof.mark(request)
        request.session[oidc.SESSION_KEY] = {"mfa": bool(sign_in and sign_in.mfa)}
        note = "new account; " if sign_in and sign_in.created else ""
        note += f"provider did multi-factor: {'yes' if sign_in and sign_in.mfa else 'no'}"
        record(
            self.user.get_username(), SecurityEvent.Kind.SSO_LOGIN, address=request.META.get("REMOTE_ADDR"), note=note
        )
        return response


def _refused(request: HttpRequest, reason: str, subject: str = "") -> HttpResponse:
    """Back to the login page with the reason, recorded. Whoever was signed in in this browser is signed out: a
    sign-in answer that does not hold must not leave a session standing either."""
    reason = reason.rstrip(".")
    if request.user.is_authenticated:
        logout(request)
    record(
        subject or "?",
        SecurityEvent.Kind.SSO_REFUSED,
        actor="sso",
        address=request.META.get("REMOTE_ADDR"),
        note=reason,
    )
    messages.error(request, f"Single sign-on refused: {reason}.")
    return HttpResponseRedirect(reverse("admin:login"))


#: where mozilla-django-oidc keeps the ID token of the sign-in (OIDC_STORE_ID_TOKEN): the provider's logout needs it
ID_TOKEN_KEY = "oidc_id_token"


def log_out(request: HttpRequest) -> HttpResponse:
    """The admin's own log out (POST, CSRF-checked by it); for a person who signed in through the provider, then on
    to the provider's end-session endpoint (OpenID Connect RP-Initiated Logout), so that the next *Sign in with*
    asks who it is instead of signing the same person straight back in; the provider sends the browser back to the
    login page. Without the endpoint in the provider's discovery document, or with PORTAL_OIDC_LOGOUT_AT_PROVIDER
    off, the portal's session alone ends, as for everyone else."""
    id_token = request.session.get(ID_TOKEN_KEY) if request.method == "POST" else None
    response = admin.site.logout(request)
    if not (id_token and settings.OIDC_ENABLED and settings.OIDC_LOGOUT_AT_PROVIDER) or request.user.is_authenticated:
        return response
    try:
        end_session = oidc.endpoint("end_session_endpoint")
    except oidc.Refused:
        return response
    back = request.build_absolute_uri(reverse("admin:login"))
    query = {"id_token_hint": id_token, "client_id": settings.OIDC_RP_CLIENT_ID, "post_logout_redirect_uri": back}
    url = f"{end_session}?{urlencode(query)}"
    if origin(end_session) != origin(settings.OIDC_ISSUER):
        # Another origin than the one the pages' form-action allows: the browser would block the redirect, so the
        # "logged out" page offers the provider's logout as a link instead.
        response.context_data = {**(response.context_data or {}), "provider_logout_url": url}  # type: ignore[union-attr]
        return response
    return HttpResponseRedirect(url)


start = never_cache(StartView.as_view())
callback = never_cache(CallbackView.as_view())
