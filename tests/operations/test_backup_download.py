"""Downloading a dump from its backup's page (issue: a backup's page with Download, permission-gated, streamed,
audited). Unit tier, on the stand-in target's backups directory (a scratch directory holding a real file)."""

import hashlib

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from tests.backup_support import catalog_row
from tests.two_factor_support import make_proof_old

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

DUMP = b"neo4j dump bytes " * 4096


@pytest.fixture
def backup(fake_target):
    fake_target.backup_dir.mkdir(parents=True)
    name = "neo4j-20261206-120000.dump"
    (fake_target.backup_dir / name).write_bytes(DUMP)
    return catalog_row(target="fake", file_name=name, size=len(DUMP), sha256=hashlib.sha256(DUMP).hexdigest())


def test_a_restorer_downloads_the_dump_streamed_and_it_is_recorded(backup, alice_client):
    page = alice_client.get(reverse("admin:operations_backup_change", args=[backup.pk])).content.decode()
    url = reverse("admin:operations_backup_download", args=[backup.pk])
    assert f'href="{url}" id="download-backup"' in page
    response = alice_client.get(url)
    assert response.status_code == 200 and response.streaming
    assert b"".join(response.streaming_content) == DUMP
    assert response["Content-Disposition"] == f'attachment; filename="{backup.file_name}"'
    assert response["X-Checksum-SHA256"] == backup.sha256
    entry = LogEntry.objects.get()
    assert entry.user.username == "alice" and entry.object_id == str(backup.pk)
    assert entry.get_change_message() == f"Downloaded {backup.file_name} (68.0 KiB)"


def test_no_download_without_the_right_or_a_recent_proof(backup, bob, alice_client):
    url = reverse("admin:operations_backup_download", args=[backup.pk])
    staff = Client()
    staff.force_login(bob)  # staff without the restorer's right
    assert staff.get(url).status_code == 403
    make_proof_old(alice_client)
    response = alice_client.get(url)
    assert response.status_code == 302 and response.url == reverse("step-up")
    assert not LogEntry.objects.exists()


def test_a_dump_that_is_not_here_says_so_and_where_it_is(backup, fake_target, alice_client):
    (fake_target.backup_dir / backup.file_name).unlink()
    response = alice_client.get(reverse("admin:operations_backup_download", args=[backup.pk]), follow=True)
    assert (
        f"The dump {backup.file_name} is not in {fake_target.backup_dir} on this machine" in response.content.decode()
    )
    assert not LogEntry.objects.exists()
