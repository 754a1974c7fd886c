"""Redis: Celery's broker and results, and Django's cache."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from security.masking import mask_url

from ..env import env_str

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
