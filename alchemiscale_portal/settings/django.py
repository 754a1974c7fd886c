"""Django itself: apps, middleware, templates, static files, logging and the error pages."""

from __future__ import annotations

from pathlib import Path

from ..env import env_str
from .base import BASE_DIR, DATA_DIR

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # passkeys (WebAuthn) as django-otp devices (settings/passkeys.py, security/passkeys.py)
    "django_otp_webauthn",
    "security",
    "django_neomodel",
    "identities",
    "compute",
    # celery beat's database scheduler (CELERY_BEAT_SCHEDULER, unattended.py). Operations stays the last app with
    # models: its post_migrate handlers (roles, default schedules) then find every other app's permissions
    # (operations/apps.py). The nested apps after it have no models (docs/architecture.md).
    "django_celery_beat",
    "operations",
    "operations.runs",
    "operations.backups",
    "operations.upgrades",
    "operations.unattended",
    "operations.glance",
]

MIDDLEWARE = [
    # Outermost, so that every response (error pages included) carries the CSP and the other headers.
    "security.middleware.SecurityHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # request.user.otp_device / is_verified() from the session (django-otp)
    "django_otp.middleware.OTPMiddleware",
    # idle sessions end; a password-only session reaches only the second-factor pages (security/middleware.py)
    "security.middleware.IdleSessionMiddleware",
    # a single sign-on session: the provider's multi-factor, if trusted, or else the portal's own (security/oidc.py)
    "security.oidc_middleware.SingleSignOnSecondFactorMiddleware",
    "security.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Neo4j not answering (an operation holds it stopped, or it is down): a 503 saying so, not a traceback.
    "operations.runs.unavailable.StateStoreUnavailableMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "alchemiscale_portal.urls"
WSGI_APPLICATION = "alchemiscale_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Times on every page as 2026-12-06 21:54:03 UTC (alchemiscale_portal/formats/en/formats.py).
FORMAT_MODULE_PATH = ["alchemiscale_portal.formats"]

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("PORTAL_STATIC_ROOT", str(DATA_DIR / "static")))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "admin:login"
# After a login whose "next" is refused as unsafe, Django falls back to this (its default is a page we lack).
LOGIN_REDIRECT_URL = "admin:index"
# Error pages (DEBUG's too) never show credentials: settings and values holding them are masked by their value,
# not only their name (security/redaction.py, docs/reliability.md).
DEFAULT_EXCEPTION_REPORTER_FILTER = "security.redaction.CredentialFilter"
DEFAULT_EXCEPTION_REPORTER = "security.redaction.CredentialReporter"

_LOG_LEVEL = env_str("PORTAL_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"masked": {"()": "security.redaction.CredentialFormatter"}},
    # The driver's "defunct connection" line after each restart of Neo4j is expected: INFO, not ERROR.
    "filters": {"expected_reconnect": {"()": "identities.driver_log.ExpectedReconnect"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "masked", "level": _LOG_LEVEL},
        # Each operation run's log: one row per line (operations/runs/runlog.py), every line whatever PORTAL_LOG_LEVEL.
        "run_log": {"class": "operations.runs.runlog.RunLogHandler"},
    },
    "root": {"handlers": ["console"], "level": _LOG_LEVEL},
    "loggers": {
        "neo4j": {"level": "WARNING"},
        "neo4j.io": {"filters": ["expected_reconnect"]},
        "operations.run": {"handlers": ["run_log"], "level": "INFO"},
    },
}
