"""Settings, all from the environment (see README "Configuration")."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from urllib.parse import quote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_choice, env_command, env_int, env_list, env_str
from .masking import mask_url

BASE_DIR = Path(__file__).resolve().parent.parent

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

# ---- the alchemiscale state store (alchemiscale's own variable names) --------------------------------
NEO4J_URL = env_str("NEO4J_URL")
NEO4J_USER = env_str("NEO4J_USER")
NEO4J_PASS = env_str("NEO4J_PASS")
NEO4J_DBNAME = env_str("NEO4J_DBNAME", "neo4j")
_neo4j_url = urlsplit(NEO4J_URL)
if _neo4j_url.scheme not in {"bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc"} or not _neo4j_url.hostname:
    raise ImproperlyConfigured(f"NEO4J_URL must look like bolt://host:7687, got {mask_url(NEO4J_URL)!r}")
# neomodel takes credentials and database name inside the URL.
NEOMODEL_NEO4J_BOLT_URL = (
    f"{_neo4j_url.scheme}://{quote(NEO4J_USER, safe='')}:{quote(NEO4J_PASS, safe='')}@"
    f"{_neo4j_url.netloc.rsplit('@', 1)[-1]}/{quote(NEO4J_DBNAME, safe='')}"
)
# The state store's schema belongs to alchemiscale: never let neomodel install labels or constraints.
NEOMODEL_SIGNALS = True
NEOMODEL_FORCE_TIMEZONE = False
NEOMODEL_MAX_CONNECTION_POOL_SIZE = env_int("NEO4J_MAX_CONNECTION_POOL_SIZE", 20)

# ---- Redis / Celery -----------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Long operations: acknowledge only when finished, so a killed worker's task is not silently lost.
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# ---- Django's cache, shared by the web server, the workers and the commands (e.g. identities/inventory.py) ------
# In the same Redis as the broker but in a database of its own, so that clearing the cache never touches a queue:
# PORTAL_CACHE_URL (default: REDIS_URL's server, database 1). "locmem://" keeps a cache in each process instead
# (the unit tier, which has no Redis); a write in one process then does not reach the others.
_redis = urlsplit(REDIS_URL)
CACHE_URL = env_str("PORTAL_CACHE_URL", _redis._replace(path="/1").geturl())
_cache = urlsplit(CACHE_URL)
if _cache.scheme == "locmem":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "KEY_PREFIX": "portal"}}
elif _cache.scheme in {"redis", "rediss", "unix"}:
    if (_cache.scheme, _cache.netloc, _cache.path.strip("/") or "0") == (
        _redis.scheme,
        _redis.netloc,
        _redis.path.strip("/") or "0",
    ):
        raise ImproperlyConfigured(
            "PORTAL_CACHE_URL must name another Redis database than REDIS_URL (the broker's), e.g. "
            f"{mask_url(_redis._replace(path='/1').geturl())}"
        )
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "portal",
        }
    }
else:
    raise ImproperlyConfigured(
        f"PORTAL_CACHE_URL must be redis://host:port/db or locmem://, got {mask_url(CACHE_URL)!r}"
    )

# ---- backups -----------------------------------------------------------------------------------------
BACKUP_DIR = Path(env_str("PORTAL_BACKUP_DIR", str(DATA_DIR / "backups"))).resolve()
# Off-site copies (docs/offsite-copies.md): each dump is copied with rclone to this remote and directory, e.g.
# "portal-offsite:backups" ("" turns copies off). rclone's own configuration comes from RCLONE_CONFIG (a file) or
# RCLONE_CONFIG_<REMOTE>_* variables in the worker's environment.
OFFSITE_REMOTE = env_str("PORTAL_OFFSITE_REMOTE", "")
OFFSITE_RCLONE = env_str("PORTAL_OFFSITE_RCLONE", "rclone")
# Seconds rclone waits to connect before it gives up on an attempt (an unreachable remote fails fast).
OFFSITE_CONNECT_TIMEOUT = env_int("PORTAL_OFFSITE_CONNECT_TIMEOUT", 15)
# A failed copy is tried again after this many minutes, doubling with each attempt (up to a day), at most
# PORTAL_OFFSITE_MAX_ATTEMPTS times in all (then staff ask again: manage.py copy-backup, the admin).
OFFSITE_RETRY_MINUTES = env_int("PORTAL_OFFSITE_RETRY_MINUTES", 10)
OFFSITE_MAX_ATTEMPTS = env_int("PORTAL_OFFSITE_MAX_ATTEMPTS", 12)

# A backup copies the stopped store to a snapshot beside it and dumps that once Neo4j runs again (docs/outage.md);
# it falls back to dumping the stopped store when the data directory's file system would keep less than this free.
SNAPSHOT_KEEP_FREE_MB = env_int("PORTAL_SNAPSHOT_KEEP_FREE_MB", 512)
# Backups with no outage at all (docs/snapshot-backups.md): where the data directory is a btrfs subvolume ("auto"),
# or with a pair of commands that create and remove a snapshot of it ({source}: the data directory, {snapshot}: where
# the snapshot's files must appear, writable), e.g. wrappers around `zfs clone` or `lvcreate -s` + mount.
ONLINE_SNAPSHOTS = env_choice("PORTAL_ONLINE_SNAPSHOTS", "auto", ("auto", "off"))
SNAPSHOT_CREATE_COMMAND = env_command("PORTAL_SNAPSHOT_CREATE_COMMAND", [])
SNAPSHOT_REMOVE_COMMAND = env_command("PORTAL_SNAPSHOT_REMOVE_COMMAND", [])

# ---- operations (backup, restore, migrations): which Neo4j they act on ----------------------------------
OPERATIONS_TARGET = env_choice("PORTAL_OPERATIONS_TARGET", "local", ("local", "docker"))
NEO4J_START_TIMEOUT = env_int("PORTAL_NEO4J_START_TIMEOUT", 180)
# The local target (operations/targets/local.py, docs/local-target.md) drives any Neo4j installation: where it is,
# where its neo4j.conf is (data directories are read from it), and how it is started, stopped and asked whether it
# runs (e.g. systemctl). Unset commands default to the distribution's own bin/neo4j and its pid file.
_neo4j_home = env_str("PORTAL_NEO4J_HOME", "")
NEO4J_HOME = Path(_neo4j_home).absolute() if _neo4j_home else None
_neo4j_conf = env_str("PORTAL_NEO4J_CONF", "")
NEO4J_CONF_DIR = Path(_neo4j_conf).absolute() if _neo4j_conf else None
NEO4J_ADMIN = env_command("PORTAL_NEO4J_ADMIN", [])
NEO4J_START_COMMAND = env_command("PORTAL_NEO4J_START_COMMAND", [])
NEO4J_STOP_COMMAND = env_command("PORTAL_NEO4J_STOP_COMMAND", [])
NEO4J_STATUS_COMMAND = env_command("PORTAL_NEO4J_STATUS_COMMAND", [])
NEO4J_SWITCH_COMMAND = env_command("PORTAL_NEO4J_SWITCH_COMMAND", [])
# The Neo4j 5 release the 4.4 store migration moves to (operations/upgrades/neo4j_data.py): alchemiscale's guide and
# its compose file use 5.18; 5.18.1 is its last release.
NEO4J_MIGRATION_VERSION = env_str("PORTAL_NEO4J_MIGRATION_VERSION", "5.18.1")
if not re.fullmatch(r"5\.\d+\.\d+", NEO4J_MIGRATION_VERSION):
    raise ImproperlyConfigured(
        f"PORTAL_NEO4J_MIGRATION_VERSION must be a Neo4j 5 release such as 5.18.1, got {NEO4J_MIGRATION_VERSION!r}"
    )
# The Celery queue operation runs go to. A local target needs a worker on the Neo4j machine: give that worker
# this queue (`celery worker -Q ...`) when other workers run elsewhere.
OPERATIONS_QUEUE = env_str("PORTAL_OPERATIONS_QUEUE", "celery")
# A queue per target when targets are reached from different machines (README "More than one machine"):
# PORTAL_OPERATIONS_QUEUES=local:ops-local,docker:ops-docker. A target not named here uses OPERATIONS_QUEUE.
OPERATIONS_QUEUES: dict[str, str] = {}
for _pair in filter(None, (p.strip() for p in env_str("PORTAL_OPERATIONS_QUEUES", "").split(","))):
    _name, _sep, _queue = (s.strip() for s in _pair.partition(":"))
    if not _sep or _name not in ("local", "docker") or not _queue:
        raise ImproperlyConfigured(
            f"PORTAL_OPERATIONS_QUEUES: {_pair!r} is not <target>:<queue> with target local or docker"
        )
    OPERATIONS_QUEUES[_name] = _queue
# Lost messages heal themselves (docs/runs.md): every worker re-sends pending runs of its queues whose message has
# waited this long, when it starts and every PORTAL_SWEEP_INTERVAL_SECONDS.
OPERATIONS_RESEND_GRACE = env_int("PORTAL_RESEND_GRACE_SECONDS", 30)
OPERATIONS_SWEEP_INTERVAL = env_int("PORTAL_SWEEP_INTERVAL_SECONDS", 30)
# Least privilege (operations/runs/worker_calls.py): a web process that does not reach the target (no Docker socket, no data
# directory) reads the target's state from its worker's report and has its worker plan and request runs, waiting
# this long for the answer.
TARGET_VIA_WORKER = env_bool("PORTAL_TARGET_VIA_WORKER", False)
WORKER_CALL_SECONDS = env_int("PORTAL_WORKER_CALL_SECONDS", 20)
# The Docker target (operations/targets/docker/); the engine itself is found through DOCKER_HOST as docker does.
DOCKER_PROJECT = env_str("PORTAL_DOCKER_PROJECT", "alchemiscale-server")
DOCKER_SERVICE = env_str("PORTAL_DOCKER_SERVICE", "neo4j")
DOCKER_NEO4J_URL = env_str("PORTAL_DOCKER_NEO4J_URL", "")  # when the portal reaches that Neo4j other than NEO4J_URL
NEO4J_ADMIN_IMAGE = env_str("PORTAL_NEO4J_ADMIN_IMAGE", "")
NEO4J_DATA_DIR = env_str("PORTAL_NEO4J_DATA_DIR", "")
DOCKER_BACKUP_HOST_DIR = env_str("PORTAL_DOCKER_BACKUP_HOST_DIR", "")
NEO4J_STOP_TIMEOUT = env_int("PORTAL_NEO4J_STOP_TIMEOUT", 120)
# alchemiscale's CLI on the Docker target: a one-off container of this image on the deployment's database network
# (default "<PORTAL_DOCKER_PROJECT>_db"), as the operations guide runs `database migrate v03-to-v04`.
ALCHEMISCALE_IMAGE = env_str("PORTAL_ALCHEMISCALE_IMAGE", "ghcr.io/openforcefield/alchemiscale-server:v0.4.0")
DOCKER_DB_NETWORK = env_str("PORTAL_DOCKER_DB_NETWORK", "")
# The deployment's compose .env: a Neo4j version switch rewrites its NEO4J_DOCKER_IMAGE line (unset: staff are told).
COMPOSE_ENV_FILE = env_str("PORTAL_COMPOSE_ENV_FILE", "")

# ---- store migrations (operations/upgrades/) --------------------------------------------------------------
# The command that runs alchemiscale's own schema migrations (`<cli> database migrate v03-to-v04`) on the local
# target (operations/targets/alchemiscale_cli.py). The project's dev and test scripts point it at their stand-in
# (devtools/alchemiscale_standin.py) and set PORTAL_ALCHEMISCALE_CLI_STANDIN, which makes the portal say so on screen
# and in the migration record. The timeout applies on both targets.
ALCHEMISCALE_CLI = env_str("PORTAL_ALCHEMISCALE_CLI", "alchemiscale")
ALCHEMISCALE_CLI_STANDIN = env_bool("PORTAL_ALCHEMISCALE_CLI_STANDIN", False)
ALCHEMISCALE_CLI_TIMEOUT = env_int("PORTAL_ALCHEMISCALE_CLI_TIMEOUT", 3600)

# ---- at a glance: /metrics for Prometheus (glance/metrics.py, docs/metrics.md) ----------------------------
# Off (404) unless a bearer token or an address list is set; with both, a scrape needs both.
METRICS_TOKEN = env_str("PORTAL_METRICS_TOKEN", "")
if METRICS_TOKEN and len(METRICS_TOKEN) < 16:
    raise ImproperlyConfigured("PORTAL_METRICS_TOKEN must have at least 16 characters (a random value)")
try:
    METRICS_ALLOWED = [
        ipaddress.ip_network(text.strip(), strict=False)
        for text in env_list("PORTAL_METRICS_ALLOWED", [])
        if text.strip()
    ]
except ValueError as exc:
    raise ImproperlyConfigured(
        f"PORTAL_METRICS_ALLOWED must list addresses or networks, e.g. 127.0.0.1,10.0.0.0/8: {exc}"
    ) from None
# ---- end of at a glance ------------------------------------------------------------------------------------

# ---- Django -------------------------------------------------------------------------------------------
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
    "security",
    "django_neomodel",
    "identities",
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
    "security.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Neo4j not answering (an operation holds it stopped, or it is down): a 503 saying so, not a traceback.
    "operations.runs.unavailable.StateStoreUnavailableMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling: after AXES_FAILURE_LIMIT wrong passwords for one username from one address, that pair is
# locked out for AXES_COOLOFF_TIME hours (a success before that resets the count).
AXES_FAILURE_LIMIT = env_int("PORTAL_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("PORTAL_LOGIN_COOLOFF_HOURS", 1)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_IPWARE_PROXY_COUNT = env_int("PORTAL_PROXY_COUNT", 0)
# Without this, every manage.py command (and worker start) logs an 'AXES: BEGIN ...' line.
AXES_VERBOSE = False

# ---- staff accounts: two-factor login, step-up, idle sessions (security/, README "Security") ----------------
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

_default_db = f"sqlite:///{DATA_DIR / 'portal.sqlite3'}"
try:
    DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL", _default_db), conn_max_age=60)}
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a usable database URL: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the Celery worker share the file: wait for locks instead of failing at once. WAL: readers
    # (pages, the 503 page during an outage) never hold up a run's writes, nor a write them (docs/runs.md).
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL;",
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["TEST"] = {"NAME": env_str("PORTAL_TEST_SQLITE", str(DATA_DIR / "test-portal.sqlite3"))}
# The program that copies a PostgreSQL portal database with every backup (docs/portal-database-backup.md).
PG_DUMP = env_str("PORTAL_PG_DUMP", "pg_dump")

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

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("PORTAL_STATIC_ROOT", str(DATA_DIR / "static")))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "admin:login"
# After a login whose "next" is refused as unsafe, Django falls back to this (its default is a page we lack).
LOGIN_REDIRECT_URL = "admin:index"
# Error pages (DEBUG's too) never show credentials: settings and values holding them are masked by their value,
# not only their name (alchemiscale_portal/redaction.py, docs/reliability.md).
DEFAULT_EXCEPTION_REPORTER_FILTER = "alchemiscale_portal.redaction.CredentialFilter"
DEFAULT_EXCEPTION_REPORTER = "alchemiscale_portal.redaction.CredentialReporter"

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("PORTAL_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("PORTAL_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_CONTENT_TYPE_NOSNIFF = True

_LOG_LEVEL = env_str("PORTAL_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"masked": {"()": "alchemiscale_portal.redaction.CredentialFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "masked", "level": _LOG_LEVEL},
        # Each operation run's log: one row per line (operations/runs/runlog.py), every line whatever PORTAL_LOG_LEVEL.
        "run_log": {"class": "operations.runs.runlog.RunLogHandler"},
    },
    "root": {"handlers": ["console"], "level": _LOG_LEVEL},
    "loggers": {
        "neo4j": {"level": "WARNING"},
        "operations.run": {"handlers": ["run_log"], "level": "INFO"},
    },
}

# ---- set it and forget it: schedules, retention, alerts (docs/unattended.md) ----------------------------
# Backup schedules are rows staff edit in the admin; `celery beat` reads them through django-celery-beat's database
# scheduler, extended to write a heartbeat the status page reads (operations/unattended/beat.py).
INSTALLED_APPS.insert(INSTALLED_APPS.index("operations"), "django_celery_beat")
CELERY_BEAT_SCHEDULER = "operations.unattended.beat:PortalScheduler"
# How often beat writes its heartbeat and releases backups that waited for their maintenance window.
BEAT_HEARTBEAT_SECONDS = env_int("PORTAL_BEAT_HEARTBEAT_SECONDS", 10)
# Alerts by e-mail through Django's mail, with Django's own setting names.
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "alchemiscale-portal@localhost")
# Recipients besides those set in the admin (comma-separated), and a webhook (Slack/Mattermost incoming webhook URL).
ALERT_EMAILS = env_list("PORTAL_ALERT_EMAILS", [])
ALERT_WEBHOOK_URL = env_str("PORTAL_ALERT_WEBHOOK_URL", "")

# Restore drills (docs/verification.md): beat has the newest backup verified in a scratch Neo4j every this many days
# (0: never).
RESTORE_DRILL_DAYS = env_int("PORTAL_RESTORE_DRILL_DAYS", 7)
