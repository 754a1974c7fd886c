"""The alert webhook cannot be turned on the portal's own neighbours (issue 26, security 5 and 6): any http or ftp
URL used to be accepted, Redis, Neo4j and the cloud metadata address included, the delivery error was shown back
(a port scanner) and redirects were followed; the Slack webhook's secret (in its path) was shown on the settings
page and in every delivery record. Real HTTP servers on loopback stand in for the outside world: loopback is refused
unless allowed by PORTAL_ALERT_WEBHOOK_ALLOW_HOSTS, which the delivery tests set."""

from __future__ import annotations

import http.server
import threading

import pytest

from operations.unattended import webhooks

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "url, why",
    [
        ("ftp://hooks.example.org/x", "https"),
        ("http://hooks.example.org/x", "https"),
        ("https://127.0.0.1:6379/", "loopback"),
        ("https://localhost:7474/db/neo4j/tx", "loopback"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://[::1]:7687/", "loopback"),
        ("https://10.1.2.3/hook", "private"),
        ("https://192.168.0.10/hook", "private"),
        ("https://0.0.0.0/hook", "unspecified"),
        ("https:///nohost", "host"),
        ("not a url", "https"),
    ],
)
def test_an_internal_or_plain_address_is_refused_with_the_reason(settings, url, why):
    settings.ALERT_WEBHOOK_ALLOW_HOSTS = []
    with pytest.raises(webhooks.WebhookRefused) as refused:
        webhooks.check_url(url)
    assert why in str(refused.value)


def test_the_allow_list_admits_a_named_host_over_http_too(settings):
    settings.ALERT_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    webhooks.check_url("http://127.0.0.1:9/hooks/abc")  # no exception
    with pytest.raises(webhooks.WebhookRefused):
        webhooks.check_url("http://127.0.0.2:9/hooks/abc")


@pytest.fixture
def server():
    """A loopback HTTP server: /ok answers 200, /redirect sends to /ok, /secret answers 500 with a body."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            hits.append(self.path)
            if self.path.startswith("/redirect"):
                self.send_response(302)
                self.send_header("Location", "/ok")
                self.end_headers()
                return
            self.send_response(200 if self.path.startswith("/ok") else 500)
            self.end_headers()
            self.wfile.write(b"redis_version:7.0.15 internal detail")

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield hits, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_redirects_are_not_followed_and_no_answer_text_comes_back(settings, server):
    hits, base = server
    settings.ALERT_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    webhooks.post(base + "/ok", "hello")
    with pytest.raises(webhooks.WebhookFailed) as failed:
        webhooks.post(base + "/redirect", "hello")
    assert hits == ["/ok", "/redirect"]  # the redirect's target was never asked
    assert "redirect" in str(failed.value)
    with pytest.raises(webhooks.WebhookFailed) as failed:
        webhooks.post(base + "/secret", "hello")
    assert "500" in str(failed.value) and "redis_version" not in str(failed.value)
    with pytest.raises(webhooks.WebhookFailed) as failed:
        webhooks.post("http://127.0.0.1:9/closed", "hello")  # nothing listens: no "Connection refused" shown back
    assert str(failed.value) == "the webhook could not be reached"


def test_the_webhook_secret_is_masked_wherever_it_is_shown():
    url = "https://hooks.slack.com/services/T0000/B0000/XXXXsecretXXXX?x=1"
    shown = webhooks.masked(url)
    assert shown.startswith("https://hooks.slack.com/") and "secret" not in shown and "B0000" not in shown


@pytest.mark.django_db
def test_the_settings_form_refuses_an_internal_webhook_and_never_shows_the_saved_one(admin_client, settings):
    from django.urls import reverse

    from operations.models import AlertSettings

    settings.ALERT_WEBHOOK_ALLOW_HOSTS = []
    row = AlertSettings.current()
    url = reverse("admin:operations_alertsettings_change", args=[row.pk])
    form = {"recipients": "", "min_free_mib": 0, "expiring_within_days": 0}
    refused = admin_client.post(url, {**form, "webhook_url": "https://169.254.169.254/latest/"})
    assert refused.status_code == 200 and "link-local" in refused.content.decode()
    assert AlertSettings.current().webhook_url == ""

    secret = "https://hooks.slack.com/services/T0/B0/XXXXsecretXXXX"
    row.webhook_url = secret
    row.save()
    page = admin_client.get(url).content.decode()
    assert "XXXXsecretXXXX" not in page and "https://hooks.slack.com/" in page
    admin_client.post(url, {**form, "webhook_url": ""})  # left empty: kept
    assert AlertSettings.current().webhook_url == secret
    admin_client.post(url, {**form, "webhook_url": "", "remove_webhook": "on"})
    assert AlertSettings.current().webhook_url == ""


@pytest.mark.django_db
def test_recipients_are_checked_and_a_test_alert_says_who_it_reached(admin_client, settings):
    """A fresh instance took 'not-an-email' as a recipient, and its first alert went to nobody unseen."""
    import io

    from django.core.management import CommandError, call_command
    from django.urls import reverse

    from operations.models import AlertSettings

    settings.ALERT_EMAILS, settings.ALERT_WEBHOOK_URL = [], ""
    row = AlertSettings.current()
    url = reverse("admin:operations_alertsettings_change", args=[row.pk])
    form = {"min_free_mib": 0, "expiring_within_days": 0, "webhook_url": ""}
    refused = admin_client.post(url, {**form, "recipients": "ops@example.org, not-an-email"})
    assert refused.status_code == 200 and "not an e-mail address: not-an-email" in refused.content.decode()
    with pytest.raises(CommandError, match="did not reach every channel"):
        call_command("check-alerts", "--test", stdout=(out := io.StringIO()))
    assert "alerts reach nobody" in out.getvalue()
    admin_client.post(url, {**form, "recipients": "ops@example.org"})
    call_command("check-alerts", "--test", stdout=(out := io.StringIO()))  # Django's test mail: taken
    assert "email ops@example.org: ok" in out.getvalue()
