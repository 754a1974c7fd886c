"""Alerts by e-mail through a real SMTP server on loopback (aiosmtpd) and a webhook to a real HTTP server: one
message per problem however often the sweep runs, one "resolved" message when it clears, every alert recorded and
listed in the admin, a failed delivery recorded and retried."""

from __future__ import annotations

import datetime as dt
import email
import html
import http.server
import json
import socket
import threading

import pytest
from aiosmtpd.controller import Controller
from django.urls import reverse
from django.utils import timezone

from identities import services as identity_services
from identities.audit import Actor
from identities.nodes import USER
from operations.models import Alert, AlertSettings, OperationRun, RetentionPolicy
from operations.unattended import alerts
from tests.backup_support import catalog_row

pytestmark = [pytest.mark.django_db(transaction=True)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # pytest-django swaps in locmem
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.DEFAULT_FROM_EMAIL = "portal@example.org"
    yield inbox
    controller.stop()


@pytest.fixture
def webhook(settings):
    settings.ALERT_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]  # loopback is refused otherwise (test_webhook_guard.py)
    posts: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            posts.append({"path": self.path, "type": self.headers["Content-Type"], "json": json.loads(body)})
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield posts, f"http://127.0.0.1:{server.server_address[1]}/hooks/abc"
    server.shutdown()
    server.server_close()


@pytest.fixture
def quiet(settings, tmp_path):
    """Only the problem a test makes: the other checks are switched off or satisfied."""
    settings.BACKUP_DIR = tmp_path
    policy = RetentionPolicy.current()
    policy.stale_after_hours = 0
    policy.save()
    row = AlertSettings.current()
    row.min_free_mib, row.expiring_within_days = 0, 0
    row.recipients = "ops@example.org, oncall@example.org"
    row.save()
    return row


def finished_run(kind: str, status: str, error: str = "") -> OperationRun:
    now = timezone.now()
    return OperationRun.objects.create(
        kind=kind,
        target="local",
        status=status,
        error=error,
        requested_by_label="schedule:nightly",
        started_at=now,
        finished_at=now,
    )


def test_a_failed_backup_is_told_once_by_mail_and_webhook_and_its_resolution_once(smtp, webhook, quiet, alice_client):
    posts, url = webhook
    quiet.webhook_url = url
    quiet.save()
    run = finished_run("backup", "failed", "dump: the dump failed: neo4j-admin exited with 1: disk full")
    alerts.sweep()
    alerts.sweep()
    assert smtp.subjects() == [f"[alchemiscale-portal] backup #{run.pk} failed on local"]
    message = smtp.messages[0]
    assert message["From"] == "portal@example.org"
    assert message["X-Envelope-To"] == "ops@example.org, oncall@example.org"
    assert (
        "disk full" in message.get_payload()
        and f"/admin/operations/operationrun/{run.pk}/change/" in message.get_payload()
    )
    assert len(posts) == 1 and posts[0]["path"] == "/hooks/abc" and posts[0]["type"] == "application/json"
    assert f"backup #{run.pk} failed on local" in posts[0]["json"]["text"]

    # Another failure of the same kind is the same problem: no new message.
    finished_run("backup", "errored", "Traceback ...\nRuntimeError: boom")
    alerts.sweep()
    assert len(smtp.messages) == 1 and len(posts) == 1

    finished_run("backup", "succeeded")
    alerts.sweep()
    alerts.sweep()
    assert smtp.subjects()[1:] == [f"[alchemiscale-portal] resolved: backup #{run.pk} failed on local"]
    assert len(posts) == 2 and posts[1]["json"]["text"].startswith("✅ *resolved: ")
    alert = Alert.objects.get()
    assert alert.resolved_at is not None and alert.notified_at and alert.resolved_notified_at
    assert [(d["event"], d["channel"], d["ok"]) for d in alert.deliveries] == [
        ("opened", "email", True),
        ("opened", "webhook", True),
        ("resolved", "email", True),
        ("resolved", "webhook", True),
    ]

    # Listed in the admin.
    page = html.unescape(alice_client.get(reverse("admin:operations_alert_changelist")).content.decode())
    assert f"backup #{run.pk} failed on local" in page and "resolved" in page


def test_an_interrupted_run_after_a_failed_one_is_told_too(smtp, quiet):
    """One alert per run kind used to swallow a later interrupted restore behind an open 'restore failed'."""
    finished_run("restore", "failed", "check the staged store: counts differ")
    alerts.sweep()
    interrupted = finished_run("restore", "interrupted", "the worker w (pid 1) stopped during step 8 of 16")
    alerts.sweep()
    assert f"[alchemiscale-portal] restore #{interrupted.pk} interrupted on local" in smtp.subjects()


def test_stale_free_space_and_expiring_identities(smtp, quiet, settings):
    policy = RetentionPolicy.current()
    policy.stale_after_hours = 2
    policy.save()
    quiet.min_free_mib = 1024 * 1024 * 1024  # a petabyte: more than any disk here
    quiet.expiring_within_days = 3
    quiet.save()
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    actor = Actor("staff", "alice")
    identity_services.add_identity(USER, "eve", "k", actor, expires=soon)
    identity_services.add_identity(USER, "later", "k", actor, expires=soon + dt.timedelta(days=30))
    catalog_row(created_at=timezone.now() - dt.timedelta(hours=3))
    alerts.sweep()
    subjects = sorted(smtp.subjects())
    assert len(subjects) == 3, subjects
    assert subjects[0].startswith("[alchemiscale-portal] no backup of local in the last 2 h")
    assert subjects[1].startswith("[alchemiscale-portal] only ") and subjects[1].endswith(" free for backups")
    assert subjects[2].startswith("[alchemiscale-portal] user identity eve expires ")
    alerts.sweep()
    assert len(smtp.messages) == 3

    catalog_row(file_name="neo4j-20260101-000001.dump")
    quiet.min_free_mib = 1
    quiet.save()
    identity_services.update_details(USER, "eve", actor, expires=soon + dt.timedelta(days=60))
    alerts.sweep()
    resolved = sorted(smtp.subjects()[3:])
    assert len(resolved) == 3 and all(s.startswith("[alchemiscale-portal] resolved: ") for s in resolved)
    assert not Alert.objects.filter(resolved_at__isnull=True).exists()


def test_a_failed_delivery_is_recorded_and_retried(smtp, quiet, settings):
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # nobody listens there
    finished_run("restore", "interrupted", "the worker stopped during step 4 of 9")
    alerts.sweep()
    alert = Alert.objects.get()
    assert alert.notified_at is None and not alert.deliveries[0]["ok"] and alert.deliveries[0]["error"]
    settings.EMAIL_PORT = port
    result = alerts.sweep()
    assert [a.pk for a in result["retried"]] == [alert.pk]
    alert.refresh_from_db()
    assert alert.notified_at is not None and len(smtp.messages) == 1
    assert "interrupted" in smtp.subjects()[0]
    alerts.sweep()
    assert len(smtp.messages) == 1


def test_send_a_test_alert_from_the_settings_page(smtp, webhook, alice_client, bob):
    """*Send a test alert* on the alert settings page: with nowhere to send, says so in red; with a recipient and a
    webhook, one message on each and each channel's answer shown; a GET or staff who may not change the settings
    send nothing."""
    send = reverse("admin:operations_alertsettings_send_test")
    settings_page = reverse("admin:operations_alertsettings_change", args=[AlertSettings.current().pk])
    assert 'id="send-test-alert"' in alice_client.get(settings_page).content.decode()
    answer = alice_client.post(send, follow=True)
    assert answer.redirect_chain[-1][0] == settings_page
    text = html.unescape(answer.content.decode())
    assert "Test alert not sent by none: no recipient and no webhook: alerts reach nobody" in text
    posts, url = webhook
    row = AlertSettings.current()
    row.recipients, row.webhook_url = "ops@example.org", url
    row.save()
    text = html.unescape(alice_client.post(send, follow=True).content.decode())
    assert "Test alert sent by email to ops@example.org." in text and "Test alert sent by webhook to " in text
    assert smtp.subjects() == ["[alchemiscale-portal] test alert"] and len(posts) == 1
    alice_client.get(send)
    alice_client.force_login(bob)
    assert alice_client.post(send).status_code == 403
    assert len(smtp.messages) == 1 and len(posts) == 1
