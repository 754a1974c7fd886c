"""Passkeys (WebAuthn through django-otp-webauthn, security/passkeys.py): which site the passkeys belong to.

A passkey is bound to a relying-party id (a domain) and answers only pages whose origin lies in it. Both come from
the environment; the defaults are the names the portal already answers to: the relying-party id is the first
origin's host, else the first host name in PORTAL_ALLOWED_HOSTS (an address or a wildcard cannot carry a passkey);
the origins are ``https://`` on every host name there that the id covers; in development make run's
``http://localhost:8000``.
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


def _host_names() -> list[str]:
    return [h.lstrip(".") for h in ALLOWED_HOSTS if h.lstrip(".") and h != "*" and not _is_address(h)]


def _lies_in(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def _checked(origin: str) -> str:
    parts = urlsplit(origin)
    local = parts.scheme == "http" and parts.hostname == "localhost" and not PRODUCTION
    if not (parts.scheme == "https" or local) or not parts.hostname or parts.path not in ("", "/"):
        raise ImproperlyConfigured(
            f"PORTAL_WEBAUTHN_ORIGINS: {origin!r} is not an origin passkeys accept: https://HOST[:PORT] "
            "(http://localhost:PORT in development only)"
        )
    return origin.rstrip("/")


_given = [_checked(origin) for origin in env_list("PORTAL_WEBAUTHN_ORIGINS", [])]
_first_host = (
    urlsplit(_given[0]).hostname if _given else ("localhost" if not PRODUCTION else next(iter(_host_names()), ""))
)
OTP_WEBAUTHN_RP_ID = env_str("PORTAL_WEBAUTHN_RP_ID", _first_host or "")
if not OTP_WEBAUTHN_RP_ID:
    raise ImproperlyConfigured(
        "PORTAL_WEBAUTHN_ORIGINS must be set: no host name in PORTAL_ALLOWED_HOSTS to default to "
        "(passkeys need a domain name, not an address), e.g. https://portal.example.org"
    )
if _given:
    OTP_WEBAUTHN_ALLOWED_ORIGINS = _given
elif PRODUCTION:
    # Every name the portal answers to that the relying-party id covers.
    OTP_WEBAUTHN_ALLOWED_ORIGINS = list(
        dict.fromkeys(f"https://{h}" for h in _host_names() if _lies_in(h, OTP_WEBAUTHN_RP_ID))
    )
else:
    OTP_WEBAUTHN_ALLOWED_ORIGINS = ["http://localhost:8000"]  # make run (scripts/run.sh, PORTAL_PORT)
for _origin in OTP_WEBAUTHN_ALLOWED_ORIGINS:
    if not _lies_in(urlsplit(_origin).hostname or "", OTP_WEBAUTHN_RP_ID):
        raise ImproperlyConfigured(
            f"PORTAL_WEBAUTHN_RP_ID {OTP_WEBAUTHN_RP_ID!r} must be the host of every origin in "
            f"PORTAL_WEBAUTHN_ORIGINS or a domain it lies in; {_origin!r} is not"
        )
if not OTP_WEBAUTHN_ALLOWED_ORIGINS:
    raise ImproperlyConfigured(
        f"PORTAL_WEBAUTHN_ORIGINS must be set: no name in PORTAL_ALLOWED_HOSTS lies in PORTAL_WEBAUTHN_RP_ID "
        f"{OTP_WEBAUTHN_RP_ID!r}"
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
