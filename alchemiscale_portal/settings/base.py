"""The mode, the secret key, the hosts served and the portal's own data directory."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from ..env import env_bool, env_choice, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# development | production. Production refuses unsafe values instead of warning about them.
PORTAL_MODE = env_choice("PORTAL_MODE", "development", ("development", "production"))
PRODUCTION = PORTAL_MODE == "production"

_DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"
SECRET_KEY = env_str("PORTAL_SECRET_KEY", "" if PRODUCTION else _DEV_SECRET_KEY)
DEBUG = env_bool("PORTAL_DEBUG", not PRODUCTION)
if PRODUCTION:
    if DEBUG:
        raise ImproperlyConfigured("PORTAL_DEBUG must be off when PORTAL_MODE=production")
    if not SECRET_KEY or SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured(
            "PORTAL_SECRET_KEY (or PORTAL_SECRET_KEY_FILE) must be set to a random value of at least 32 characters "
            "when PORTAL_MODE=production"
        )

ALLOWED_HOSTS = env_list("PORTAL_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("PORTAL_CSRF_TRUSTED_ORIGINS", [])

# Where the portal keeps its own files when nothing else is said (SQLite, default backups directory).
DATA_DIR = Path(env_str("PORTAL_DATA_DIR", str(BASE_DIR / ".run" / "dev"))).resolve()
