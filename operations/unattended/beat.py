"""The portal's beat scheduler: django-celery-beat's database scheduler plus a heartbeat and a few chores.

A due backup schedule is decided here, in beat, at the moment it falls due (request the backup, wait for the
window, or skip because another run is active), rather than in a message to a worker: such a message would queue
behind a running backup on a busy worker and request a second backup the moment the first ends.

Every ``PORTAL_BEAT_HEARTBEAT_SECONDS`` beat writes a heartbeat to Redis (the status page and the schedule list
read it to tell whether beat is alive), releases backups that waited for their maintenance window, asks for a
prune after scheduled backups that want one, and asks for a copy run when failed off-site copies are due for a retry
(docs/offsite-copies.md). These live here rather than in a periodic task so that they happen
exactly when the scheduler itself is alive, and only once however many workers run.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import time

from django.conf import settings
from django.db import close_old_connections
from django_celery_beat.schedulers import DatabaseScheduler

from ..backups import services
from ..models.schedules import SCHEDULED_BACKUP_TASK, BackupSchedule
from ..redis_client import client
from . import alerts, schedules
from .schedules import fire

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "alchemiscale-portal:beat-heartbeat"


def _redis():
    return client()


#: which beat process leads (only one fires schedules and runs the chores): "host:pid:started", expiring
LEADER_KEY = "alchemiscale-portal:beat-leader"


def lead(me: str) -> tuple[bool, str]:
    """Take or keep the lead for ``me``; (leads, who leads). A second beat (two deployments started by mistake, a
    restart overlapping the old process) waits instead of firing every schedule and sending every alert twice."""
    ttl = max(30, 3 * settings.BEAT_HEARTBEAT_SECONDS)
    r = _redis()
    if r.set(LEADER_KEY, me, nx=True, ex=ttl):
        return True, me
    holder = r.get(LEADER_KEY)
    holder = holder.decode() if isinstance(holder, bytes) else (holder or "")
    if holder == me:
        r.expire(LEADER_KEY, ttl)
        return True, me
    return False, holder


def write_heartbeat() -> None:
    payload = {"at": dt.datetime.now(dt.UTC).isoformat(), "host": socket.gethostname(), "pid": os.getpid()}
    # Expires by itself, so a dead beat's heartbeat does not linger.
    _redis().set(HEARTBEAT_KEY, json.dumps(payload), ex=max(60, 6 * settings.BEAT_HEARTBEAT_SECONDS))


def heartbeat() -> dict | None:
    """The last heartbeat ({"at": datetime, "host", "pid", "age": seconds}); None when there is none."""
    raw = _redis().get(HEARTBEAT_KEY)
    if raw is None:
        return None
    data = json.loads(raw)
    data["at"] = dt.datetime.fromisoformat(data["at"])
    data["age"] = (dt.datetime.now(dt.UTC) - data["at"]).total_seconds()
    return data


def beat_alive() -> tuple[bool, str]:
    """Whether beat is running, in words for the status page and the schedule list."""
    try:
        beat = heartbeat()
    except Exception as exc:
        return False, f"cannot read beat's heartbeat from Redis: {exc}"
    if beat is None:
        return False, (
            "celery beat is not running (no heartbeat): schedules do not fire. Start it with "
            "`celery -A alchemiscale_portal beat`"
        )
    if beat["age"] > 3 * settings.BEAT_HEARTBEAT_SECONDS + 5:
        return False, f"celery beat's last heartbeat ({beat['host']}, pid {beat['pid']}) is {beat['age']:.0f} s old"
    return True, f"celery beat alive on {beat['host']} (pid {beat['pid']}), heartbeat {beat['age']:.0f} s ago"


#: when beat's watchdog last swept (monotonic seconds), in this beat process
_last_watch = [-1e9]


def chores() -> None:
    """What beat does every heartbeat besides the heartbeat itself."""
    close_old_connections()
    try:
        for note in schedules.release_waiting():
            logger.info("maintenance window open: %s", note)
        for run in schedules.prune_after_backups():
            logger.info("requested prune #%s after a scheduled backup", run.pk)
        for run in services.retry_failed_copies():
            logger.info("requested copy #%s to retry failed off-site copies", run.pk)
        # Neo4j down and overdue runs are watched from here too: the worker that would sweep may be the one stuck.
        # Every sweep interval, not every heartbeat: asking an unreachable Neo4j may take a few seconds.
        if time.monotonic() - _last_watch[0] >= settings.OPERATIONS_SWEEP_INTERVAL:
            _last_watch[0] = time.monotonic()
            for alert in alerts.sweep(only=alerts.WATCHDOG_KINDS)["opened"]:
                logger.warning("beat's watchdog opened alert #%s: %s", alert.pk, alert.subject)
    finally:
        close_old_connections()


class _Fired:
    """What ``apply_entry`` logs for a schedule beat decided itself."""

    def __init__(self, note: str):
        self.id = note


class PortalScheduler(DatabaseScheduler):
    """django-celery-beat's database scheduler, plus: a heartbeat and the chores above every few seconds, backup
    schedules fired by the portal's own decision (maintenance windows), and a row that cannot be scheduled skipped
    with the reason instead of stopping beat (every start would crash again while the row exists)."""

    def __init__(self, *args, **kwargs):
        self._last_heartbeat = 0.0
        self._me = f"{socket.gethostname()}:{os.getpid()}:{time.time():.0f}"
        self._waiting_for = ""
        super().__init__(*args, **kwargs)

    def close(self) -> None:
        """A beat that stops hands the lead back at once (a killed one's expires)."""
        try:
            r = _redis()
            holder = r.get(LEADER_KEY)
            if (holder.decode() if isinstance(holder, bytes) else holder) == self._me:
                r.delete(LEADER_KEY)
        except Exception:
            logger.warning("beat: could not hand the lead back; it expires by itself")
        super().close()

    def all_as_schedule(self):
        entries = {}
        now = self.app.now()
        for model in self.enabled_models():
            try:
                entry = self.Entry(model, app=self.app)
                entry.schedule.remaining_estimate(now)  # what is_due works out at every tick
            except Exception as exc:
                self._skip(model, f"{exc.__class__.__name__}: {exc}")
                continue
            entries[model.name] = entry
        return entries

    @staticmethod
    def _skip(model, reason: str) -> None:
        words = schedules.describe_broken(model, reason)
        logger.error("beat: %s", words)
        schedule = BackupSchedule.objects.filter(periodic_task_id=model.pk).first()
        if schedule is not None and schedule.last_note != words:
            schedule.note(words)

    def tick(self, *args, **kwargs):
        every = max(1, settings.BEAT_HEARTBEAT_SECONDS)
        try:
            leads, holder = lead(self._me)
        except Exception:  # Redis is down: nothing can be sent anyway; the broker is the same Redis
            logger.exception("beat: cannot ask who leads")
            return every
        if not leads:
            if holder != self._waiting_for:
                logger.warning("beat: another beat leads (%s); this one waits and fires nothing", holder)
                self._waiting_for = holder
            return every
        if self._waiting_for:
            logger.warning("beat: %s no longer leads; this beat takes over", self._waiting_for)
            self._waiting_for = ""
        if time.monotonic() - self._last_heartbeat >= every:
            self._last_heartbeat = time.monotonic()
            for job in (write_heartbeat, chores):
                try:
                    job()
                except Exception:  # a chore that fails must not stop the scheduler
                    logger.exception("beat: %s failed", job.__name__)
        return min(super().tick(*args, **kwargs), every)

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        if entry.task != SCHEDULED_BACKUP_TASK:
            return super().apply_async(entry, producer=producer, advance=advance, **kwargs)
            entry = self.reserve(entry) if advance else entry
        close_old_connections()
        try:
            note = fire(**entry.kwargs)
            logger.info("%s: %s", entry.name, note)
            return _Fired(note)
        except Exception:
            logger.exception("beat: firing %s failed", entry.name)
            return None
        finally:
            close_old_connections()
            self._tasks_since_sync += 1
            if self.should_sync():
                self._do_sync()
