"""Two beats (a second deployment started by mistake, a restart overlapping the old process) used to write skip
notes every minute, sweep alerts twice and post every webhook twice. Now one leads, through a key in the real Redis:
the other waits and fires nothing until the leader's key expires."""

from __future__ import annotations

import pytest

from operations.unattended import beat


@pytest.fixture
def no_leader():
    beat._redis().delete(beat.LEADER_KEY)
    yield
    beat._redis().delete(beat.LEADER_KEY)


def test_one_beat_leads_the_other_waits_until_the_key_expires(no_leader, settings):
    assert beat.lead("host:1:100") == (True, "host:1:100")
    assert beat.lead("host:2:200") == (False, "host:1:100")
    assert beat.lead("host:1:100") == (True, "host:1:100")  # the leader keeps it
    beat._redis().delete(beat.LEADER_KEY)  # as when its key expires (the leader died)
    assert beat.lead("host:2:200") == (True, "host:2:200")
    assert 0 < beat._redis().ttl(beat.LEADER_KEY) <= max(30, 3 * settings.BEAT_HEARTBEAT_SECONDS)


def test_a_waiting_scheduler_fires_nothing_and_writes_no_heartbeat(no_leader, django_db_blocker):
    from alchemiscale_portal.celery import app

    beat._redis().delete(beat.HEARTBEAT_KEY)
    beat.lead("elsewhere:9:9")
    with django_db_blocker.unblock():
        scheduler = beat.PortalScheduler(app=app, lazy=True)
    assert scheduler.tick() == max(1, beat.settings.BEAT_HEARTBEAT_SECONDS)
    assert beat._redis().get(beat.HEARTBEAT_KEY) is None
