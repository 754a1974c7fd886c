"""The thresholds alchemiscale's compute API works with, under its own variable names so that one ``.env`` serves
the server and the portal (docs/compute.md). The portal only reads them, to say what the server would do."""

from __future__ import annotations

from ..env import env_int

# A registration whose last heartbeat is older than this is expired at the next heartbeat of any service.
ALCHEMISCALE_COMPUTE_API_REGISTRATION_EXPIRE_SECONDS = env_int(
    "ALCHEMISCALE_COMPUTE_API_REGISTRATION_EXPIRE_SECONDS", 1800
)
# Failures older than this are forgiven; more than MAX_FAILURES younger ones and the server refuses claims.
ALCHEMISCALE_COMPUTE_API_FORGIVE_TIME_SECONDS = env_int("ALCHEMISCALE_COMPUTE_API_FORGIVE_TIME_SECONDS", 600)
ALCHEMISCALE_COMPUTE_API_MAX_FAILURES = env_int("ALCHEMISCALE_COMPUTE_API_MAX_FAILURES", 3)
# Managers whose last status update is older than these (OK, ERROR) are removed at the next manager's request.
ALCHEMISCALE_COMPUTE_API_MANAGER_EXPIRE_SECONDS = env_int("ALCHEMISCALE_COMPUTE_API_MANAGER_EXPIRE_SECONDS", 3600)
ALCHEMISCALE_COMPUTE_API_MANAGER_EXPIRE_SECONDS_ERROR = env_int(
    "ALCHEMISCALE_COMPUTE_API_MANAGER_EXPIRE_SECONDS_ERROR", 86400
)

# The portal's own: how long a count over the whole store (tasks by scope, anomalies, throughput) is kept in the cache
# and shown "as of" its time (compute/counted.py), and how often the fleet's history is sampled, how long kept.
COMPUTE_COUNTS_SECONDS = env_int("PORTAL_COMPUTE_COUNTS_SECONDS", 150)
COMPUTE_SAMPLE_MINUTES = env_int("PORTAL_COMPUTE_SAMPLE_MINUTES", 2)
COMPUTE_HISTORY_DAYS = env_int("PORTAL_COMPUTE_HISTORY_DAYS", 30)
