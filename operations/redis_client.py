"""The portal's Redis (``REDIS_URL``, also Celery's broker) for what the portal keeps there itself: the workers' roll
call, their target reports, beat's heartbeat, the status page's check. Short timeouts: a page that reads it never
hangs on a Redis that is gone."""

from __future__ import annotations

import redis
from django.conf import settings


def client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
