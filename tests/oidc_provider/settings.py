"""Settings of the test provider; everything it keeps lives in PROVIDER_DIR (SQLite, the signing key, the
directory file)."""

import os
from pathlib import Path

DIR = Path(os.environ["PROVIDER_DIR"])
SECRET_KEY = "test-provider-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oauth2_provider",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "tests.oidc_provider.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [Path(__file__).parent / "templates"],
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DIR / "provider.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Tables straight from the models (serve.py): quicker than running every migration at each test session.
MIGRATION_MODULES = {app: None for app in ("auth", "contenttypes", "sessions", "oauth2_provider")}
USE_TZ = True
# Cookies are per host, not per port: the portal on the same 127.0.0.1 must keep its own session cookie.
SESSION_COOKIE_NAME = "provider_sessionid"
CSRF_COOKIE_NAME = "provider_csrftoken"
LOGIN_URL = "/accounts/login/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": (DIR / "signing-key.pem").read_text(),
    "OAUTH2_VALIDATOR_CLASS": "tests.oidc_provider.validator.DirectoryValidator",
    "SCOPES": {"openid": "OpenID Connect", "email": "e-mail", "profile": "profile", "groups": "groups"},
    # The portal always sends PKCE; optional here so one test can turn it off and reach the nonce check alone.
    "PKCE_REQUIRED": False,
    # The portal's log out ends this provider's session too (end_session_endpoint), without a question when the ID
    # token it hands back is the signed-in person's.
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
}
