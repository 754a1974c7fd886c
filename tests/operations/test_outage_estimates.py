"""Every preview opens with the outage and the run's length in numbers (issue: decisions with numbers): as the last
run of its kind went, and before the first from Neo4j's own log of its last stop and start. Unit tier, on the
stand-in target with a real excerpt of neo4j.log's shape."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from operations.backups.procedures.outage import outage_words
from operations.models import OperationRun
from operations.targets.base import restart_in_log

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

LOG = """2026-12-06 18:04:20.102+0000 INFO  Logging config in use: File '/var/lib/neo4j/conf/user-logs.xml'
2026-12-06 18:04:27.735+0000 INFO  Starting...
2026-12-06 18:04:30.001+0000 INFO  Bolt enabled on 127.0.0.1:7687.
2026-12-06 18:04:32.370+0000 INFO  Started.
2026-12-06 18:04:56.874+0000 INFO  Stopping...
2026-12-06 18:04:57.185+0000 INFO  Stopped.
2026-12-06 18:05:01.000+0000 INFO  Starting...
2026-12-06 18:05:07.500+0000 INFO  Started.
"""


def past_backup(took: float, outage: tuple[float, float]) -> OperationRun:
    """A backup on the stand-in that succeeded, taking ``took`` s, Neo4j unavailable from ``outage[0]`` to
    ``outage[1]`` s after its start."""
    began = timezone.now() - dt.timedelta(seconds=took + 60)
    return OperationRun.objects.create(
        kind="backup",
        target="fake",
        status="succeeded",
        requested_by_label="cli:x",
        started_at=began,
        finished_at=began + dt.timedelta(seconds=took),
        state={
            f"outage_{k}": (began + dt.timedelta(seconds=s)).isoformat() for k, s in zip(("started", "ended"), outage)
        },
    )


def test_the_last_stop_and_start_as_neo4j_logged_them():
    assert restart_in_log(LOG) == (pytest.approx(0.311), pytest.approx(6.5))
    assert restart_in_log(LOG.rsplit("2026-12-06 18:05:07", 1)[0]) == (pytest.approx(0.311), pytest.approx(4.635))
    assert restart_in_log("") == (None, None)
    assert restart_in_log("garbage\n2026-12-06 18:05:01.000+0000 INFO  Starting...\n") == (None, None)


def test_before_the_first_run_the_log_then_the_last_run(fake_target):
    fake_target.log = LOG
    assert outage_words(fake_target, "backup") == (
        "about 7 s or a little more: one restart of this Neo4j as its log timed the last (stop 0.3 s, start 6.5 s); "
        "no earlier backup to go by"
    )
    fake_target.log = ""
    assert outage_words(fake_target, "backup").startswith("about one restart of Neo4j (no earlier backup to go by")
    past_backup(took=95, outage=(3, 15))
    assert outage_words(fake_target, "backup") == "about 12 s, as in the last backup"


def test_the_back_up_now_page_opens_with_both_numbers(fake_target, settings, alice_client):
    settings.OPERATIONS_TARGET = "fake"
    fake_target.log = LOG
    html = alice_client.get(reverse("admin:operations_backup_now")).content.decode()
    # The stand-in has no snapshot room: the offline backup, unavailable for the whole dump.
    assert "Neo4j will be unavailable while the store is dumped" in html and "about 7 s or a little more" in html
    assert "plus the time the dump takes" in html
    assert "The whole run&#x27;s length is not known yet: this is the first backup here." in html
    past_backup(took=185, outage=(0, 9))
    html = alice_client.get(reverse("admin:operations_backup_now")).content.decode()
    assert (
        "about 9 s, as in the last backup" in html
        and "The whole run takes about 3 min 5 s, as the last backup did." in html
    )
