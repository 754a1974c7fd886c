"""Staff accounts: login throttling, two-factor login, step-up, idle sessions; security headers and, in production,
HTTPS-only cookies and redirects (security/, docs/security.md)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from ..env import env_bool, env_int, env_str
from .base import PRODUCTION

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # single sign-on (alchemiscale_portal/settings/oidc.py): answers only the sign-in callback, and only when enabled
    "security.oidc.SubjectBackend",
    # signs in with a passkey alone (settings/passkeys.py, PORTAL_PASSKEY_SIGN_IN)
    "django_otp_webauthn.backends.WebAuthnBackend",
]
# Login throttling: after AXES_FAILURE_LIMIT wrong passwords for one username from one address, that pair is
# locked out for AXES_COOLOFF_TIME hours (a success before that resets the count).
AXES_FAILURE_LIMIT = env_int("PORTAL_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("PORTAL_LOGIN_COOLOFF_HOURS", 1)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Reverse proxies in front of the web server (the compose deployment has one): the client's address is then read
# from X-Forwarded-For, as the last proxy wrote it (security/client_ip.py); 0 trusts no header.
PROXY_COUNT = env_int("PORTAL_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "security.client_ip.client_ip"
# Without this, every manage.py command (and worker start) logs an 'AXES: BEGIN ...' line.
AXES_VERBOSE = False

# ---- two-factor login, step-up, idle sessions ----------------------------------------------------------------
# Every staff login needs a second factor (TOTP or a recovery code) when this is on; otherwise it is asked only of
# staff who enrolled. On by default in production.
REQUIRE_2FA = env_bool("PORTAL_REQUIRE_2FA", PRODUCTION)
# Restore, store migrations, identity delete and key rotation ask for the second factor (the password for staff
# without one) again when the last proof is older than this.
STEP_UP_SECONDS = env_int("PORTAL_STEP_UP_MINUTES", 5) * 60
# A session with no request from its person for this long ends (background polls of a run page do not count).
SESSION_IDLE_SECONDS = env_int("PORTAL_SESSION_IDLE_MINUTES", 30) * 60
if STEP_UP_SECONDS <= 0 or SESSION_IDLE_SECONDS <= 0:
    raise ImproperlyConfigured("PORTAL_STEP_UP_MINUTES and PORTAL_SESSION_IDLE_MINUTES must be positive")
SESSION_COOKIE_AGE = SESSION_IDLE_SECONDS
# However busy, a session ends this long after its login (security/middleware.py).
SESSION_MAX_SECONDS = env_int("PORTAL_SESSION_MAX_HOURS", 12) * 3600
if SESSION_MAX_SECONDS <= 0:
    raise ImproperlyConfigured("PORTAL_SESSION_MAX_HOURS must be positive")
SESSION_COOKIE_HTTPONLY = True
# What authenticator apps show as the account's issuer; wrong codes wait 1, 2, 4, 8 ... seconds times this factor.
OTP_TOTP_ISSUER = env_str("PORTAL_OTP_ISSUER", "alchemiscale portal")
OTP_TOTP_THROTTLE_FACTOR = env_int("PORTAL_OTP_THROTTLE_FACTOR", 1)
OTP_STATIC_THROTTLE_FACTOR = OTP_TOTP_THROTTLE_FACTOR
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# Security headers (security/middleware.py): Django sets nosniff, Referrer-Policy, COOP and X-Frame-Options itself.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("PORTAL_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("PORTAL_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
