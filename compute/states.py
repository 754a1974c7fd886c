"""What alchemiscale's compute API would make of a registration or a manager, from the store's values alone.

Pure: the time and the thresholds are arguments, so the pages, the command and the Cypher filters agree
(docs/compute.md, "States of a compute service"; the rules are alchemiscale's, docs/facts.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Any

ALIVE = "alive"
STALE = "stale"
DENIED = "denied"
SERVICE_STATES = (ALIVE, STALE, DENIED)

#: alchemiscale's TaskStatusEnum and NetworkStateEnum values; ANY is the portal's word for "whatever the state"
TASK_STATUSES = ("waiting", "running", "complete", "error", "invalid", "deleted")
NETWORK_STATES = ("active", "inactive", "invalid", "deleted")
ANY = "any"

MANAGER_OK = "OK"
MANAGER_ERROR = "ERROR"


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """alchemiscale's ``ALCHEMISCALE_COMPUTE_API_*`` settings, in seconds (failures: a count)."""

    registration_expire: int = 1800
    forgive: int = 600
    max_failures: int = 3
    manager_expire: int = 3600
    manager_expire_error: int = 86400

    @classmethod
    def from_settings(cls, settings: Any) -> Thresholds:
        prefix = "ALCHEMISCALE_COMPUTE_API_"
        return cls(
            registration_expire=getattr(settings, prefix + "REGISTRATION_EXPIRE_SECONDS"),
            forgive=getattr(settings, prefix + "FORGIVE_TIME_SECONDS"),
            max_failures=getattr(settings, prefix + "MAX_FAILURES"),
            manager_expire=getattr(settings, prefix + "MANAGER_EXPIRE_SECONDS"),
            manager_expire_error=getattr(settings, prefix + "MANAGER_EXPIRE_SECONDS_ERROR"),
        )

    def expire_before(self, now: dt.datetime) -> dt.datetime:
        """A heartbeat strictly before this is expired (alchemiscale compares with ``<``)."""
        return now - dt.timedelta(seconds=self.registration_expire)

    def forgive_after(self, now: dt.datetime) -> dt.datetime:
        """A failure strictly after this still counts (alchemiscale keeps entries ``>`` the forgive time)."""
        return now - dt.timedelta(seconds=self.forgive)


def recent_failures(failure_times: Iterable[dt.datetime] | None, now: dt.datetime, limits: Thresholds) -> int:
    cutoff = limits.forgive_after(now)
    return sum(1 for t in failure_times or () if t > cutoff)


def service_state(
    heartbeat: dt.datetime, failure_times: Iterable[dt.datetime] | None, now: dt.datetime, limits: Thresholds
) -> str:
    """Stale before denied: a registration nobody heartbeats claims nothing, whatever its failures."""
    if heartbeat < limits.expire_before(now):
        return STALE
    if recent_failures(failure_times, now, limits) > limits.max_failures:
        return DENIED
    return ALIVE


def manager_expired(status: str, last_status_update: dt.datetime, now: dt.datetime, limits: Thresholds) -> bool:
    """Whether alchemiscale would remove the manager's registration at the next manager's request."""
    seconds = limits.manager_expire_error if status == MANAGER_ERROR else limits.manager_expire
    return last_status_update < now - dt.timedelta(seconds=seconds)


def name_of(identifier: str) -> str:
    """The name a service was started with: its identifier less the ``-<uuid hex>`` alchemiscale appends."""
    name, sep, tail = identifier.rpartition("-")
    return name if sep and len(tail) == 32 else identifier
