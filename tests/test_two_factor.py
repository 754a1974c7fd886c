"""Two-factor login, step-up and idle sessions through Django's test client (the browser flow is in
tests/browser/test_browser_two_factor.py): what a password-only session reaches, enrolment required in production,
a superuser's reset and the audit list, step-up with the password and with a replayed POST, idle expiry."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from identities import services
from identities.audit import Actor
from identities.nodes import KINDS
from security import twofactor
from security.middleware import SEEN_KEY
from security.models import SecurityEvent
from tests.backup_support import catalog_row

from .two_factor_support import code_at, current_step, enrol, fresh_code, make_proof_old, password_login

pytestmark = pytest.mark.django_db


def test_a_password_only_session_reaches_nothing_but_the_second_step(client, alice):
    key, codes = enrol(alice)
    assert len(codes) == 10 and len(set(codes)) == 10
    response = password_login(client)
    assert response.status_code == 302
    verify = reverse("two-factor-verify")
    for url in [
        reverse("admin:index"),
        reverse("system-status"),
        reverse("admin:operations_backup_changelist"),
        reverse("admin:auth_user_changelist"),
        reverse("admin:identities_useridentity_changelist"),
        reverse("step-up"),
        reverse("admin:security_securityevent_changelist"),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(verify), f"{url}: {response.status_code}"
    page = client.get(verify)
    assert page.status_code == 200 and b"Second step" in page.content
    assert b"Backups" not in page.content  # no app list before the second step

    response = client.post(verify, {"code": "000000" if code_at(key, current_step()) != "000000" else "111111"})
    assert b"Wrong code." in response.content
    assert SecurityEvent.objects.filter(username="alice", kind="failed").count() == 1
    TOTPDevice.objects.filter(user=alice).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    response = client.post(verify, {"code": fresh_code(key, alice), "next": "/admin/status/"})
    assert response.status_code == 302 and response.url == "/admin/status/"
    assert client.get(reverse("admin:index")).status_code == 200


def test_two_factor_is_required_for_staff_where_configured(client, alice, settings):
    settings.REQUIRE_2FA = True
    password_login(client)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and response.url.startswith(reverse("two-factor-enrol"))
    page = client.get(reverse("two-factor-enrol"))
    assert page.status_code == 200 and b"<svg" in page.content and b"Two-factor login is required" in page.content
    device = TOTPDevice.objects.get(user=alice, confirmed=False)
    # a wrong first code enrols nothing
    client.post(reverse("two-factor-enrol"), {"code": "12345x"})
    assert not TOTPDevice.objects.filter(user=alice, confirmed=True).exists()
    response = client.post(reverse("two-factor-enrol"), {"code": code_at(device.bin_key, current_step())})
    assert response.status_code == 200 and response.content.count(b'class="recovery-code"') == 10
    assert "no-store" in response["Cache-Control"]
    assert client.get(reverse("admin:index")).status_code == 200  # enrolment verified this session
    assert SecurityEvent.objects.filter(username="alice", kind="enrolled").exists()


def test_superuser_resets_devices_and_the_audit_list_says_so(client, alice, bob, django_user_model):
    enrol(bob)
    assert twofactor.has_second_factor(bob)
    client.force_login(alice)  # alice has no device: in development that is allowed
    changelist = reverse("admin:auth_user_changelist")
    response = client.post(changelist, {"action": "reset_two_factor", "_selected_action": [bob.pk], "index": 0})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=bob).exists() and not StaticDevice.objects.filter(user=bob).exists()
    event = SecurityEvent.objects.get(kind="reset")
    assert (event.username, event.actor) == ("bob", "alice")
    listing = client.get(reverse("admin:security_securityevent_changelist"))
    assert listing.status_code == 200 and b"devices reset" in listing.content
    # staff who are not superusers have neither the action nor the audit list
    bob.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))
    client.force_login(bob)
    assert b"reset_two_factor" not in client.get(changelist).content
    assert client.get(reverse("admin:security_securityevent_changelist")).status_code == 403


def test_step_up_with_the_password_before_deleting_an_identity_keeps_the_post(client, alice):
    services.add_identity(KINDS["user"], "stepup-id", "stepup-key", Actor.command_line())
    client.force_login(alice)
    make_proof_old(client)
    delete = reverse("admin:identities_useridentity_delete", args=["stepup-id"])
    response = client.post(delete, {"confirm": "yes"})
    assert response.status_code == 302 and response.url == reverse("step-up")
    assert services.get_identity(KINDS["user"], "stepup-id") is not None
    page = client.get(reverse("step-up"))
    assert b"Password" in page.content and b"delete user identities" in page.content
    wrong = client.post(reverse("step-up"), {"password": "not-it"})
    assert b"Wrong password." in wrong.content
    assert SecurityEvent.objects.filter(kind="step-up-failed", username="alice").count() == 1
    ok = client.post(reverse("step-up"), {"password": "alice-password-1"})
    assert ok.status_code == 200 and b'id="step-up-continue"' in ok.content
    assert f'action="{delete}"'.encode() in ok.content and b'name="confirm" value="yes"' in ok.content
    # Continue: the same POST again, now with a recent proof
    done = client.post(delete, {"confirm": "yes"})
    assert done.status_code == 302
    assert services.get_identity(KINDS["user"], "stepup-id") is None


def test_step_up_with_the_code_before_a_restore_page(client, alice):
    key, codes = enrol(alice)
    client.force_login(alice)
    session = client.session
    session["otp_device_id"] = TOTPDevice.objects.get(user=alice).persistent_id
    session.save()
    make_proof_old(client)
    backup = catalog_row()
    restore = reverse("admin:operations_backup_restore", args=[backup.pk])
    response = client.get(restore)
    assert response.status_code == 302 and response.url == reverse("step-up")
    assert b"Code" in client.get(reverse("step-up")).content
    # a recovery code is a second factor too, and works once
    response = client.post(reverse("step-up"), {"code": codes[0]})
    assert response.status_code == 302 and response.url == restore
    assert SecurityEvent.objects.filter(kind="recovery-used").count() == 1
    assert client.get(restore).status_code == 200
    make_proof_old(client)
    client.get(restore)
    StaticDevice.objects.filter(user=alice).update(throttling_failure_count=0)
    again = client.post(reverse("step-up"), {"code": codes[0].upper().replace("-", " ")})
    assert b"Wrong code." in again.content


def test_an_idle_session_ends(client, alice, settings):
    client.force_login(alice)
    assert client.get(reverse("admin:index")).status_code == 200
    session = client.session
    session[SEEN_KEY] = time.time() - settings.SESSION_IDLE_SECONDS - 5
    session.save()
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))
    assert client.get(reverse("admin:index")).status_code == 302  # signed out for good
    assert settings.SESSION_COOKIE_AGE == settings.SESSION_IDLE_SECONDS


@pytest.mark.parametrize("path", ["/admin/login/", "/admin/", "/admin/no-such-page/", "/admin/2fa/enrol/"])
def test_security_headers_on_every_page(client, alice, path):
    client.force_login(alice)
    response = client.get(path)
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "camera=()" in response["Permissions-Policy"]
