"""Single sign-on with OpenID Connect (security/oidc.py, docs/security.md "Single sign-on").

Off unless PORTAL_OIDC_ISSUER is set. The provider's endpoints come from its discovery document, fetched when the
first person signs in (not at start: a provider that is down must not stop the portal). mozilla-django-oidc reads
its own OIDC_* names; the portal's PORTAL_OIDC_* variables fill them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from ..env import env_bool, env_int, env_list, env_str
from .base import PRODUCTION

#: the issuer exactly as the provider writes it in its tokens' "iss" claim, e.g. https://login.example.org/realms/lab
OIDC_ISSUER = env_str("PORTAL_OIDC_ISSUER", "").rstrip("/")
OIDC_ENABLED = bool(OIDC_ISSUER)
OIDC_DISCOVERY_URL = env_str(
    "PORTAL_OIDC_DISCOVERY_URL", OIDC_ISSUER + "/.well-known/openid-configuration" if OIDC_ENABLED else ""
)
OIDC_RP_CLIENT_ID = env_str("PORTAL_OIDC_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = env_str("PORTAL_OIDC_CLIENT_SECRET", "")
OIDC_RP_SCOPES = " ".join(env_list("PORTAL_OIDC_SCOPES", ["openid", "email", "profile"])).replace(",", " ")
#: the claim (in the ID token or the userinfo answer) that lists the person's groups
OIDC_GROUPS_CLAIM = env_str("PORTAL_OIDC_GROUPS_CLAIM", "groups")
#: what the login button says
OIDC_PROVIDER_NAME = env_str("PORTAL_OIDC_PROVIDER_NAME", "your organisation")
#: trust the provider's word that it did multi-factor (amr/acr below): then the portal asks for no code of its own
OIDC_TRUST_MFA = env_bool("PORTAL_OIDC_TRUST_MFA", False)
OIDC_MFA_AMR = env_list("PORTAL_OIDC_MFA_AMR", ["mfa"])
OIDC_MFA_ACR = env_list("PORTAL_OIDC_MFA_ACR", [])
OIDC_TIMEOUT = env_int("PORTAL_OIDC_TIMEOUT_SECONDS", 10)
# Logging out of the portal also ends the provider's session (when its discovery names an end_session_endpoint).
OIDC_LOGOUT_AT_PROVIDER = env_bool("PORTAL_OIDC_LOGOUT_AT_PROVIDER", True)


def _role_map(raw: list[str]) -> dict[str, list[str]]:
    """``group=role`` pairs, comma-separated; a group may appear twice for two roles. The role names are checked
    against the portal's roles by a system check (security/oidc_checks.py): the roles are not known here."""
    mapping: dict[str, list[str]] = {}
    for pair in raw:
        group, sep, role = pair.partition("=")
        if not sep or not group.strip() or not role.strip():
            raise ImproperlyConfigured(f"PORTAL_OIDC_ROLE_MAP: {pair!r} is not group=role")
        mapping.setdefault(group.strip(), []).append(role.strip())
    return mapping


#: the groups claim's values -> the portal roles (security/roles.py) they grant, e.g. alchemiscale-admins=restorer
OIDC_ROLE_MAP = _role_map(env_list("PORTAL_OIDC_ROLE_MAP", []))

if OIDC_ENABLED:
    if not OIDC_RP_CLIENT_ID or not OIDC_RP_CLIENT_SECRET:
        raise ImproperlyConfigured(
            "PORTAL_OIDC_ISSUER is set: PORTAL_OIDC_CLIENT_ID and PORTAL_OIDC_CLIENT_SECRET (or _FILE) are required"
        )
    if "openid" not in OIDC_RP_SCOPES.split():
        raise ImproperlyConfigured(f"PORTAL_OIDC_SCOPES must include openid, got {OIDC_RP_SCOPES!r}")
    for _name, _url in (("PORTAL_OIDC_ISSUER", OIDC_ISSUER), ("PORTAL_OIDC_DISCOVERY_URL", OIDC_DISCOVERY_URL)):
        if urlsplit(_url).scheme not in ({"https"} if PRODUCTION else {"https", "http"}):
            raise ImproperlyConfigured(f"{_name} must be an https:// URL{' in production' * PRODUCTION}, got {_url!r}")
    if OIDC_TIMEOUT <= 0:
        raise ImproperlyConfigured("PORTAL_OIDC_TIMEOUT_SECONDS must be positive")

# mozilla-django-oidc's own settings: RS256 ID tokens checked against the provider's published keys, a nonce and
# PKCE on every sign-in, the state kept in the session (one use).
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_USE_NONCE = True
OIDC_USE_PKCE = True
OIDC_AUTHENTICATION_CALLBACK_URL = "sso-callback"
OIDC_CREATE_USER = True
# The ID token stays in the (server-side) session: the provider's logout wants it back as id_token_hint.
OIDC_STORE_ID_TOKEN = True
LOGIN_REDIRECT_URL_FAILURE = "/admin/login/"
# A refused sign-in answer is not a guessed password: django-axes must not count it, or a few refusals (people
# without a role, say) would lock single sign-on for everyone behind the same address (security/oidc.py).
AXES_WHITELIST_CALLABLE = "security.oidc.not_a_password_attempt"
