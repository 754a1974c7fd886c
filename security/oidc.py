"""Single sign-on with OpenID Connect: who a token says the person is, and what the portal makes of it.

The life of a sign-in (the views are security/oidc_views.py, the library mozilla-django-oidc):

1. *Sign in with ...* on the login page starts the authorisation code flow with a fresh state, nonce and PKCE
   verifier kept in the session (each usable once).
2. The provider sends the browser back with a code; the callback swaps it for tokens at the token endpoint and
   :class:`SubjectBackend` checks the ID token: RS256 signature by a key the provider publishes, the nonce, and
   here the issuer, the audience (this client), the expiry, and that the userinfo answer speaks of the same ``sub``.
3. The account is the one linked to (issuer, sub) in :class:`~security.models.OIDCSubject`; on the first sign-in a
   staff account is made and linked. Never matched by e-mail or name: an e-mail address can be re-issued, and a
   provider may let people type their own. An e-mail claim not marked verified is refused outright.
4. Roles follow the groups claim through ``PORTAL_OIDC_ROLE_MAP`` (:func:`sync_roles`): granted when a mapped group
   appears, taken away when it is gone; a sign-in whose groups grant no role is refused.
5. Whether the portal's own second factor is still asked: :func:`provider_did_mfa` and ``PORTAL_OIDC_TRUST_MFA``
   (security/oidc_middleware.py).

Every sign-in, refusal and role change is written to the security audit list (SecurityEvent).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.checks import CheckMessage
from django.core.checks import Error as CheckError
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.utils import timezone
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from .models import OIDCSubject, SecurityEvent
from .roles import ROLES
from .twofactor import record

#: how long the provider's discovery document is kept before it is fetched again
DISCOVERY_SECONDS = 3600
#: what the callback leaves on the request when a sign-in was refused, for the page and the audit list
REFUSAL_ATTR = "portal_sso_refusal"
SUBJECT_ATTR = "portal_sso_subject"
#: the session's note of a single sign-on: {"mfa": the provider said it did multi-factor}
SESSION_KEY = "portal_sso"
_USERNAME_CHARS = re.compile(r"[^\w.@+-]")


class Refused(SuspiciousOperation):
    """A sign-in the portal will not accept; the message says why, in words for the person and the audit list."""


# ---- the provider ------------------------------------------------------------------------------------------
def discovery() -> dict[str, Any]:
    """The provider's discovery document (endpoints, keys' URL), fetched once an hour. Its ``issuer`` must be the
    configured one exactly (OpenID Connect Discovery 1.0, section 4.3): a document that names another issuer is not
    this provider's."""
    key = "portal-oidc-discovery:" + settings.OIDC_DISCOVERY_URL
    document = cache.get(key)
    if document is None:
        try:
            answer = requests.get(settings.OIDC_DISCOVERY_URL, timeout=settings.OIDC_TIMEOUT)
            answer.raise_for_status()
            document = answer.json()
        except (requests.RequestException, ValueError) as exc:
            raise Refused(f"the sign-in provider does not answer ({type(exc).__name__}); try again later") from None
        if document.get("issuer", "").rstrip("/") != settings.OIDC_ISSUER:
            raise Refused(f"the provider's discovery document names another issuer: {document.get('issuer')!r}")
        cache.set(key, document, DISCOVERY_SECONDS)
    return document


def endpoint(name: str) -> str:
    url = discovery().get(name)
    if not url:
        raise Refused(f"the provider's discovery document has no {name}")
    return url


# ---- pure checks -------------------------------------------------------------------------------------------
def check_id_token(payload: dict[str, Any], issuer: str, client_id: str) -> None:
    """What mozilla-django-oidc leaves unchecked (it verifies the signature, expiry and nonce only): the token must
    come from the configured issuer and be meant for this client."""
    if str(payload.get("iss", "")).rstrip("/") != issuer:
        raise Refused(f"the token was issued by {payload.get('iss')!r}, not by the configured provider")
    audience = payload.get("aud")
    audiences = [audience] if isinstance(audience, str) else list(audience or [])
    if client_id not in audiences:
        raise Refused(f"the token is meant for {audiences!r}, not for this portal ({client_id!r})")
    if len(audiences) > 1 and payload.get("azp") != client_id:
        raise Refused("the token names several audiences and another authorised party")
    if not isinstance(payload.get("sub"), str) or not payload["sub"]:
        raise Refused("the token carries no subject (sub)")


def merged_claims(id_token: dict[str, Any], userinfo: dict[str, Any]) -> dict[str, Any]:
    """The ID token's claims completed by the userinfo answer, which must be about the same person."""
    if userinfo.get("sub") != id_token.get("sub"):
        raise Refused("the provider's userinfo answer is about another subject than the token")
    return {**userinfo, **id_token}


def check_email(claims: dict[str, Any]) -> str:
    """The e-mail address to keep on the account, or "" when none is given. One given but not marked verified by
    the provider is refused: the portal must not keep (and later trust or mail) an address nobody proved."""
    email = claims.get("email")
    if not email:
        return ""
    if claims.get("email_verified") is not True:
        raise Refused(f"the provider does not say the e-mail address {email!r} is verified")
    return str(email)


def groups_of(claims: dict[str, Any], claim: str) -> list[str]:
    value = claims.get(claim) or []
    if isinstance(value, str):
        value = [value]
    return [str(g) for g in value]


def roles_for(groups: Iterable[str], role_map: dict[str, list[str]]) -> set[str]:
    return {role for group in groups for role in role_map.get(group, [])}


def provider_did_mfa(claims: dict[str, Any], amr_values: Iterable[str], acr_values: Iterable[str]) -> bool:
    """Does the token say the provider checked more than one factor? ``amr`` (RFC 8176: "mfa") or ``acr``."""
    amr = claims.get("amr") or []
    if isinstance(amr, str):
        amr = [amr]
    return bool(set(amr) & set(amr_values)) or (str(claims.get("acr", "")) in set(acr_values))


def username_for(claims: dict[str, Any]) -> str:
    """A readable, unused username: the provider's preferred_username (else the e-mail's local part, else sub),
    prefixed ``sso-`` so it can never be taken for a local account, with -2, -3 ... when taken."""
    base = claims.get("preferred_username") or str(claims.get("email", "")).split("@")[0] or claims["sub"]
    base = "sso-" + _USERNAME_CHARS.sub("-", str(base))[:120]
    users = get_user_model().objects
    name, n = base, 1
    while users.filter(username=name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def role_map_errors(app_configs, **kwargs) -> list[CheckMessage]:
    """System check: every role PORTAL_OIDC_ROLE_MAP names is one of the portal's (a typo would grant nothing)."""
    return [
        CheckError(
            f"PORTAL_OIDC_ROLE_MAP maps the group {group!r} to {role!r}, which is not a portal role",
            hint="The roles are: " + ", ".join(sorted(ROLES)) + " (security/roles.py).",
            id="portal_security.E101",
        )
        for group, roles in settings.OIDC_ROLE_MAP.items()
        for role in roles
        if role not in ROLES
    ]


# ---- roles -------------------------------------------------------------------------------------------------
def sync_roles(user, wanted: set[str], address: str | None) -> tuple[set[str], set[str]]:
    """Make the account's mapped roles exactly ``wanted``: add the missing, take away those the map manages that
    the groups no longer grant. Roles the map never names are left as staff set them. Each change is audited."""
    managed = {role for roles in settings.OIDC_ROLE_MAP.values() for role in roles}
    have = set(user.groups.filter(name__in=managed).values_list("name", flat=True))
    granted, removed = wanted - have, have - wanted
    for name in sorted(granted):
        user.groups.add(Group.objects.get(name=name))
        record(user.get_username(), SecurityEvent.Kind.ROLE_GRANTED, actor="sso", address=address, note=name)
    for name in sorted(removed):
        user.groups.remove(Group.objects.get(name=name))
        record(user.get_username(), SecurityEvent.Kind.ROLE_REMOVED, actor="sso", address=address, note=name)
    return granted, removed


@dataclass
class SignIn:
    """What one accepted sign-in came to, for the callback view."""

    created: bool
    mfa: bool
    granted: set[str]
    removed: set[str]


def sign_in(claims: dict[str, Any], address: str | None):
    """Find or make the staff account of (issuer, sub), bring its e-mail and roles up to date. Refused when the
    e-mail is unverified or the groups grant no role (the roles are taken away first)."""
    issuer, subject = settings.OIDC_ISSUER, claims["sub"]
    email = check_email(claims)
    wanted = roles_for(groups_of(claims, settings.OIDC_GROUPS_CLAIM), settings.OIDC_ROLE_MAP)
    with transaction.atomic():
        link = OIDCSubject.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
        if link is None:
            if not wanted:
                raise Refused("your groups at the provider give you no role in this portal")
            user = get_user_model().objects.create_user(username_for(claims), email=email, is_staff=True)
            user.set_unusable_password()
            user.save(update_fields=["password"])
            link = OIDCSubject.objects.create(user=user, issuer=issuer, subject=subject)
            created = True
        else:
            user, created = link.user, False
        # Taken away even when the sign-in is then refused for want of a role: the change must stick.
        granted, removed = sync_roles(user, wanted, address)
        if wanted:
            if email and user.email != email:
                user.email = email
                user.save(update_fields=["email"])
            link.last_login = timezone.now()
            link.save(update_fields=["last_login"])
    if not wanted:
        raise Refused("your groups at the provider no longer give you a role in this portal")
    mfa = provider_did_mfa(claims, settings.OIDC_MFA_AMR, settings.OIDC_MFA_ACR)
    user.portal_sign_in = SignIn(created, mfa, granted, removed)  # type: ignore[attr-defined]  # for the callback view
    return user


def not_a_password_attempt(request, credentials: dict | None) -> bool:
    """django-axes' whitelist: the single sign-on callback's attempts (a nonce, no password) are not counted.
    Guessing is the provider's to throttle; the portal's callback only takes answers to sign-ins it started."""
    return bool(credentials) and "nonce" in credentials and "password" not in credentials  # type: ignore[operator]


# ---- the authentication backend ------------------------------------------------------------------------------
class SubjectBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend, answering only the sign-in callback, with the endpoints from discovery and
    the checks above. Cheap to make: Django makes one for every request of a signed-in person (get_user)."""

    def __init__(self, *args, **kwargs):
        # Not the library's __init__: it reads the endpoints from settings, which here come from discovery, later.
        self.UserModel = get_user_model()
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:  # noqa: N802  (the library's name)
        return endpoint("token_endpoint")

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:  # noqa: N802  (the library's name)
        return endpoint("userinfo_endpoint")

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:  # noqa: N802  (the library's name)
        return endpoint("jwks_uri")

    def authenticate(self, request, **kwargs):
        # Only the callback passes a nonce (and never a password): a password login with ?code=&state= in its URL
        # must not start a token exchange.
        if not settings.OIDC_ENABLED or request is None or "nonce" not in kwargs or "password" in kwargs:
            return None
        try:
            return super().authenticate(request, **kwargs)
        except SuspiciousOperation as exc:
            setattr(request, REFUSAL_ATTR, str(exc))
        except requests.RequestException as exc:
            # e.g. a code used twice: the token endpoint answers 400 (invalid_grant)
            status = getattr(exc.response, "status_code", None)
            setattr(request, REFUSAL_ATTR, f"the provider refused to exchange the code (HTTP {status or '-'})")
        return None

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        if "nonce" in kwargs:  # the ID token; a signed userinfo answer (no nonce) is checked against it instead
            check_id_token(payload, settings.OIDC_ISSUER, settings.OIDC_RP_CLIENT_ID)
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        userinfo = self.get_userinfo(access_token, id_token, payload)
        claims = merged_claims(payload, userinfo)
        try:
            return sign_in(claims, self.request.META.get("REMOTE_ADDR"))
        except Refused as exc:
            # The library turns this into a plain None; the callback wants the reason.
            setattr(self.request, REFUSAL_ATTR, str(exc))
            setattr(self.request, SUBJECT_ATTR, claims.get("sub", ""))
            raise
