"""A new enrolment secret per visit of the enrolment page (issue 26): before a person has enrolled, the password
alone opens that page, so a secret seen there earlier must be void once the person opens it; each visit is in the
sign-in audit log."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from security.models import SecurityEvent

from .two_factor_support import code_at, current_step, key_from_base32, password_login

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

ENROL = "/admin/2fa/enrol/"
VERIFY = "/admin/2fa/verify/"


def shown_secret(response) -> str:
    html = response.content.decode()
    start = html.index('<code id="totp-secret">') + len('<code id="totp-secret">')
    return html[start : html.index("</code>", start)]


def test_a_password_alone_never_sees_the_secret_the_person_enrols(client, alice, settings):
    assert reverse("two-factor-enrol") == ENROL and reverse("two-factor-verify") == VERIFY
    settings.REQUIRE_2FA = True
    intruder = Client()
    password_login(intruder)
    stolen = shown_secret(intruder.get(ENROL))

    password_login(client)
    first = shown_secret(client.get(ENROL))
    shown = shown_secret(client.get(ENROL))  # a reload is a new visit: a new secret, the earlier one is void
    assert len({stolen, first, shown}) == 3
    assert TOTPDevice.objects.filter(user=alice).count() == 1

    # The intruder's secret confirms nothing, not even in the intruder's own session.
    refused = intruder.post(ENROL, {"code": code_at(key_from_base32(stolen), current_step())})
    assert refused.status_code == 302 and refused.url == ENROL
    assert not TOTPDevice.objects.filter(user=alice, confirmed=True).exists()
    # A wrong code keeps the page's secret (the person's app holds it); the first right code confirms it.
    again = client.post(ENROL, {"code": "12345x"})
    assert shown_secret(again) == shown
    done = client.post(ENROL, {"code": code_at(key_from_base32(shown), current_step())})
    assert done.status_code == 200 and done.content.count(b'class="recovery-code"') == 10
    assert TOTPDevice.objects.get(user=alice, confirmed=True).bin_key == key_from_base32(shown)

    # Password + a code of the secret the intruder saw: the second step refuses it.
    later = Client()
    password_login(later)
    response = later.post(VERIFY, {"code": code_at(key_from_base32(stolen), current_step())})
    assert b"Wrong code." in response.content
    assert later.get(reverse("admin:index")).status_code == 302

    opened = SecurityEvent.objects.filter(username="alice", kind="enrol-opened")
    assert opened.count() == 3 and all(e.address == "127.0.0.1" for e in opened)
    assert not any(secret in e.note for e in opened for secret in (stolen, first, shown))
