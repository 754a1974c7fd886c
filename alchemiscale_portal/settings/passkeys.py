"""Passkeys (WebAuthn through django-otp-webauthn, security/passkeys.py): which site the passkeys belong to.

A passkey is bound to a relying-party id (a domain) and answers only pages whose origin lies on it. Both come from
the environment; the defaults are the names the portal already answers to: in production ``https://`` on every host
name in PORTAL_ALLOWED_HOSTS (an address or a wildcard cannot carry a passkey), in development make run's
``http://localhost:8000``. The relying-party id defaults to the first origin's host.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from ..env import env_bool, env_list, env_str
from .base import ALLOWED_HOSTS, PRODUCTION


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _default_origins() -> list[str]:
    if not PRODUCTION:
        return ["http://localhost:8000"]
    names = [h.lstrip(".") for h in ALLOWED_HOSTS if h != "*" and not _is_address(h)]
    return [f"https://{name}" for name in names if name]


def _checked_origins(origins: list[str]) -> list[str]:
    if not origins:
        raise ImproperlyConfigured(
            "PORTAL_WEBAUTHN_ORIGINS must be set: no host name in PORTAL_ALLOWED_HOSTS to default to "
            "(passkeys need a domain name, not an address), e.g. https://portal.example.org"
        )
    for origin in origins:
        parts = urlsplit(origin)
        local = parts.scheme == "http" and parts.hostname == "localhost" and not PRODUCTION
        if not (parts.scheme == "https" or local) or not parts.hostname or parts.path not in ("", "/"):
            raise ImproperlyConfigured(
                f"PORTAL_WEBAUTHN_ORIGINS: {origin!r} is not an origin passkeys accept: https://HOST[:PORT] "
                "(http://localhost:PORT in development only)"
            )
    return [origin.rstrip("/") for origin in origins]


OTP_WEBAUTHN_ALLOWED_ORIGINS = _checked_origins(env_list("PORTAL_WEBAUTHN_ORIGINS", _default_origins()))
OTP_WEBAUTHN_RP_ID = env_str("PORTAL_WEBAUTHN_RP_ID", urlsplit(OTP_WEBAUTHN_ALLOWED_ORIGINS[0]).hostname or "")
for _origin in OTP_WEBAUTHN_ALLOWED_ORIGINS:
    _host = urlsplit(_origin).hostname or ""
    if _host != OTP_WEBAUTHN_RP_ID and not _host.endswith("." + OTP_WEBAUTHN_RP_ID):
        raise ImproperlyConfigured(
            f"PORTAL_WEBAUTHN_RP_ID {OTP_WEBAUTHN_RP_ID!r} must be the host of every origin in "
            f"PORTAL_WEBAUTHN_ORIGINS or a domain it lies in; {_origin!r} is not"
        )
# What the browser shows when it asks to create or use a passkey.
OTP_WEBAUTHN_RP_NAME = env_str("PORTAL_WEBAUTHN_RP_NAME", "alchemiscale portal")
# A discoverable passkey with user verification (PIN, fingerprint) signs a person in without the password and
# counts as both factors (docs/security.md, "Passkeys"). Off: passkeys serve only as a second factor.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = env_bool("PORTAL_PASSKEY_SIGN_IN", True)
# Browser-side ceremonies wait this long for the person to touch the key.
OTP_WEBAUTHN_TIMEOUT_SECONDS = 120
# The library's own logger would log every refused passkey with a traceback; the audit list records them instead.
OTP_WEBAUTHN_EXCEPTION_LOGGER_NAME = ""
# The portal's own helper: a name for each new passkey and an audit entry (security/passkeys.py).
OTP_WEBAUTHN_HELPER_CLASS = "security.passkeys.PortalWebAuthnHelper"
