"""The admin's front page: tiles an operator reads first (newest backup, next scheduled backup, health, alerts and
where they go), each linking to where to act; the libraries' models under "Advanced" for superusers only."""

import datetime as dt
import re
import time

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from operations.models import Alert, AlertSettings, Backup, BackupCopy

from .glance_support import finished_backup

pytestmark = pytest.mark.django_db
HOME = "/admin/"


def tile(html: str, key: str) -> str:
    found = re.search(rf'<section class="home-tile (\w+)" id="{key}-tile".*?</section>', html, re.S)
    assert found, f"no {key} tile"
    return found.group(0)


def tile_state(html: str, key: str) -> str:
    return re.search(r'data-state="(\w+)"', tile(html, key)).group(1)


def tile_links(html: str, key: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)"', tile(html, key).split('class="act"')[1])


def test_fresh_instance(alice_client):
    response = alice_client.get(HOME)
    html = response.content.decode()
    assert response.status_code == 200
    assert [re.search(r'id="([\w-]+)-tile"', t).group(1) for t in re.findall(r"<section[^>]*>", html)] == [
        "health",
        "newest-backup",
        "next-backup",
        "alerts",
        "fleet",
    ]
    assert "no backup of" in tile(html, "newest-backup") and tile_state(html, "newest-backup") == "bad"
    assert '<li class="bad">alerts go to: nobody</li>' in tile(html, "alerts")
    assert '<p class="headline ok">none open</p>' in tile(html, "alerts")  # the red line says what is wrong
    assert '<p class="headline bad">no backup of' in tile(html, "newest-backup")
    assert tile_state(html, "alerts") == "bad"
    # An empty store: no service, nothing stuck, no sample yet.
    assert "0 alive, 0 stale, 0 denied" in tile(html, "fleet") and tile_state(html, "fleet") == "ok"
    # Every tile links somewhere that answers.
    for key in ("health", "newest-backup", "next-backup", "alerts", "fleet"):
        for url in tile_links(html, key):
            assert alice_client.get(url.replace("&amp;", "&"), follow=True).status_code == 200, url
    # The portal's pages come before the models, the libraries' models only under "Advanced", no "View site".
    main, advanced = html.split('id="advanced-apps"')
    assert main.index('id="home-tiles"') < main.index('id="portal-links"') < main.index('class="app-identities')
    assert "app-axes" not in main and "app-django_celery_beat" not in main
    assert "app-axes" in advanced and "app-django_celery_beat" in advanced
    assert "View site" not in html


def test_staff_see_only_their_tiles_and_no_advanced(client, bob):
    client.force_login(bob)
    html = client.get(HOME).content.decode()
    assert 'id="health-tile"' in html
    assert "newest-backup-tile" not in html and "alerts-tile" not in html and "next-backup-tile" not in html
    assert "fleet-tile" not in html
    assert "advanced-apps" not in html
    bob.user_permissions.add(Permission.objects.get(codename="view_backup"))
    html = client.get(HOME).content.decode()
    assert 'id="newest-backup-tile"' in html and "alerts-tile" not in html


def test_a_good_backup_and_where_alerts_go(alice_client, settings):
    settings.OFFSITE_REMOTE = "offsite:portal"
    now = timezone.now()
    backup = finished_backup(now - dt.timedelta(hours=2, minutes=1), size=1 << 20, seconds=5, outage=2, n=1)
    Backup.objects.filter(pk=backup.pk).update(verification=Backup.Verification.OK, verified_at=now)
    BackupCopy.objects.create(backup=backup, remote="offsite:portal", path="local/x", state=BackupCopy.State.OK)
    AlertSettings.objects.create(pk=1, recipients="ops@example.org", webhook_url="https://hooks.example.org/secret")
    Alert.objects.create(key="stale:local", kind=Alert.Kind.STALE, subject="no backup of local in the last 26 h")
    html = alice_client.get(HOME).content.decode()
    newest = tile(html, "newest-backup")
    assert tile_state(html, "newest-backup") == "ok", newest
    assert backup.file_name in newest and "verified" in newest and "copied off-site to offsite:portal" in newest
    assert re.search(r"headline ok\">2 h (1 min )?ago<", newest), newest
    alerts = tile(html, "alerts")
    assert "alerts go to: ops@example.org, a webhook" in alerts and "secret" not in html
    assert "1 open" in alerts and "no backup of local in the last 26 h" in alerts


def test_the_front_page_reads_a_bounded_number_of_rows(alice_client):
    """As many queries with one backup and one alert as with fifty of each: nothing is read per row."""

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert alice_client.get(HOME).status_code == 200
        return len(captured)

    now = timezone.now()
    finished_backup(now - dt.timedelta(hours=1), size=1, seconds=1, outage=None, n=0)
    Alert.objects.create(key="k0", kind=Alert.Kind.RUN, subject="s0")
    queries()  # the session's first request reads and writes more than the page does
    few = queries()
    for i in range(1, 50):
        finished_backup(now - dt.timedelta(hours=1 + i), size=1, seconds=1, outage=None, n=i)
        Alert.objects.create(key=f"k{i}", kind=Alert.Kind.RUN, subject=f"s{i}")
    assert queries() == few


@pytest.mark.unit
def test_the_front_page_stays_quick_when_redis_is_gone(alice_client, settings):
    """Redis is Celery's broker too: asking the workers over it must not wait for Celery's reconnection attempts."""
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # a closed loopback port
    started = time.monotonic()
    html = alice_client.get(HOME).content.decode()
    assert time.monotonic() - started < 3
    assert tile_state(html, "health") == "bad" and "Celery workers: cannot ask the broker" in tile(html, "health")
