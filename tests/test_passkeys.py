"""Passkeys through Django's test client and a software key (tests/passkey_support.py): the real endpoints and the
library's real signature checks, unit tier. The same story in Chromium: tests/browser/test_browser_passkeys.py.

What is checked here: who may enrol (staff; with a second factor, only a verified session with a recent proof), a
passkey alone signs in as both factors (and not when PORTAL_PASSKEY_SIGN_IN is off, nor for non-staff), it is the
second step after the password and a step-up proof, a removed passkey is refused, names and removal are each
person's own, a superuser's reset removes passkeys, recovery codes for passkey-only accounts, and the audit list."""

from __future__ import annotations

import re
import time

import pytest
from django.urls import reverse
from django_otp_webauthn.models import WebAuthnCredential

from security import passkeys, proof, twofactor
from security.models import SecurityEvent

from .passkey_support import SoftKey, authenticate, passkey_row, register
from .two_factor_support import enrol, make_proof_old, password_login

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

ORIGIN = "https://portal.example.org"


@pytest.fixture(autouse=True)
def relying_party(settings):
    settings.OTP_WEBAUTHN_RP_ID = "portal.example.org"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [ORIGIN]


def new_key() -> SoftKey:
    return SoftKey("portal.example.org", ORIGIN)


def notes(kind: str) -> list[str]:
    return list(SecurityEvent.objects.filter(kind=kind).order_by("id").values_list("note", flat=True))


def enrolled_key(client, user) -> SoftKey:
    client.force_login(user)
    key = new_key()
    assert register(client, key).status_code == 200
    return key


def test_a_passkey_alone_signs_staff_in_with_both_factors(client, alice):
    key = enrolled_key(client, alice)
    client.logout()
    response = authenticate(client, key, next_url="/admin/operations/backup/")
    assert response.status_code == 200, response.content
    assert response.json()["redirect_url"] == "/admin/operations/backup/"
    # Signed in and verified: the admin opens without a second step, and the sign-in counts as a fresh proof.
    assert client.get(reverse("admin:operations_backup_changelist")).status_code == 200
    assert proof.PROOF_KEY in client.session
    assert notes("passkey-used") == ["sign-in without password: passkey 1"]
    assert WebAuthnCredential.objects.get().last_used_at is not None


def test_sign_in_without_password_can_be_turned_off_and_never_admits_non_staff(
    client, alice, settings, django_user_model
):
    key = enrolled_key(client, alice)
    client.logout()
    settings.OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
    assert "passkey-verification-button" not in client.get(reverse("admin:login")).content.decode()
    assert client.post(reverse("otp_webauthn:credential-authentication-begin")).status_code == 403
    settings.OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = True
    alice.is_staff = False
    alice.save()
    response = authenticate(client, key)
    assert response.status_code == 403 and response.json()["code"] == "not_staff"
    assert "_auth_user_id" not in client.session
    assert notes("failed") == ["sign-in without password: passkey refused (not_staff)"]


def test_a_removed_passkey_is_refused(client, alice):
    key = enrolled_key(client, alice)
    passkeys.remove(alice, WebAuthnCredential.objects.get().pk, "127.0.0.1")
    client.logout()
    response = authenticate(client, key)
    assert response.status_code == 404 and response.json()["code"] == "credential_not_found"
    assert "_auth_user_id" not in client.session
    assert notes("passkey-removed") == ["passkey 1"]
    assert notes("failed") == ["sign-in without password: passkey refused (credential_not_found)"]


def test_second_step_after_the_password_and_step_up(client, alice):
    key = enrolled_key(client, alice)
    client.logout()
    password_login(client)
    verify = reverse("two-factor-verify")
    page = client.get(reverse("admin:index"))
    assert page.status_code == 302 and page.url.startswith(verify)
    assert "Use a passkey" in client.get(verify).content.decode()
    assert authenticate(client, key, next_url="/admin/").status_code == 200
    assert client.get(reverse("admin:index")).status_code == 200

    # Step-up: an old proof sends the restore page to the step-up page; the passkey proves it, and the step-up
    # page, loaded again by the passkey script, goes on to the page asked for (here: adding a staff account).
    add_user = reverse("admin:auth_user_add")
    make_proof_old(client)
    response = client.get(add_user)
    assert response.status_code == 302 and response.url == reverse("step-up")
    assert "Use a passkey" in client.get(reverse("step-up")).content.decode()
    assert authenticate(client, key, next_url=reverse("step-up")).status_code == 200
    response = client.get(reverse("step-up"))
    assert response.status_code == 302 and response.url == add_user
    assert notes("passkey-used") == ["login: passkey 1", "step-up: passkey 1"]


def test_another_persons_passkey_is_not_a_second_factor(client, alice, bob):
    enrolled_key(client, alice)
    bobs = enrolled_key(client, bob)
    client.logout()
    password_login(client)  # alice's password
    response = authenticate(client, bobs)
    assert response.status_code == 403 and response.json()["code"] == "credential_user_mismatch"
    assert client.get(reverse("admin:index")).url.startswith(reverse("two-factor-verify"))


def test_enrolment_needs_staff_and_with_a_second_factor_a_recent_proof(client, alice, django_user_model):
    member = django_user_model.objects.create_user("member", password="pw-member")
    client.force_login(member)
    begin = client.post(reverse("otp_webauthn:credential-registration-begin"))
    assert begin.status_code == 403 and begin.json()["code"] == "not_staff"
    client.force_login(alice)
    enrol(alice)  # an authenticator: the password-only session may not add a passkey
    begin = client.post(reverse("otp_webauthn:credential-registration-begin"))
    assert begin.status_code == 403 and begin.json()["code"] == "user_not_verified"
    client.logout()
    password_login(client)
    session = client.session
    session["otp_device_id"] = twofactor.TOTPDevice.objects.get(user=alice).persistent_id
    session.save()
    make_proof_old(client)
    begin = client.post(reverse("otp_webauthn:credential-registration-begin"))
    assert begin.status_code == 403 and begin.json()["code"] == "step_up_needed"
    session = client.session
    session[proof.PROOF_KEY] = time.time()
    session.save()
    assert register(client, new_key()).status_code == 200
    assert WebAuthnCredential.objects.filter(user=alice).count() == 1
    assert notes("failed") == [
        "passkey enrolment: passkey refused (not_staff)",
        "passkey enrolment: passkey refused (user_not_verified)",
        "passkey enrolment: passkey refused (step_up_needed)",
    ]


def test_several_passkeys_named_and_removed_on_the_page_each_persons_own(client, alice, bob):
    enrolled_key(client, alice)
    register(client, new_key())
    bobs = passkey_row(bob)
    page = reverse("passkeys")
    first, second = WebAuthnCredential.objects.filter(user=alice).order_by("pk")
    assert [first.name, second.name] == ["passkey 1", "passkey 2"]
    client.post(page, {"action": "rename", "passkey": first.pk, "name": "  YubiKey\n blue  "})
    client.post(page, {"action": "rename", "passkey": bobs.pk, "name": "mine now"})
    client.post(page, {"action": "remove", "passkey": bobs.pk})
    response = client.post(page, {"action": "rename", "passkey": second.pk, "name": "   "}, follow=True)
    assert "Give the passkey a name" in response.content.decode()
    assert WebAuthnCredential.objects.get(pk=bobs.pk).name == "passkey 1"  # bob's, untouched
    client.post(page, {"action": "remove", "passkey": second.pk})
    listed = client.get(page).content.decode()
    assert re.findall(r'<td class="passkey-name">([^<]*)</td>', listed) == ["YubiKey blue"]
    assert notes("passkey-renamed") == ["passkey 1 -> YubiKey blue"]
    assert notes("passkey-removed") == ["passkey 2"]


def test_the_passkeys_page_asks_for_the_second_factor_then_a_recent_proof(client, alice):
    passkey_row(alice)
    password_login(client)
    response = client.get(reverse("passkeys"))
    assert response.status_code == 302 and response.url.startswith(reverse("two-factor-verify"))
    session = client.session
    session["otp_device_id"] = WebAuthnCredential.objects.get().persistent_id
    session.save()
    make_proof_old(client)
    response = client.post(reverse("passkeys"), {"action": "remove", "passkey": WebAuthnCredential.objects.get().pk})
    assert response.status_code == 302 and response.url == reverse("step-up")
    assert WebAuthnCredential.objects.count() == 1


def test_a_superusers_reset_removes_passkeys(alice, bob):
    passkey_row(bob)
    passkey_row(bob, "spare")
    enrol(bob)
    assert twofactor.reset_devices(bob, "alice") == 4  # authenticator, recovery codes, two passkeys
    assert not twofactor.has_second_factor(bob) and not WebAuthnCredential.objects.filter(user=bob).exists()


def test_recovery_codes_for_passkey_only_accounts_never_replace_a_set_in_use(client, alice):
    assert twofactor.first_recovery_codes(alice, None) == []  # no passkey: nothing to recover
    passkey_row(alice)
    codes = twofactor.first_recovery_codes(alice, None)
    assert len(codes) == 10 and twofactor.recovery_codes_left(alice) == 10
    assert twofactor.first_recovery_codes(alice, None) == []
    assert twofactor.check_code(alice, codes[0], None, "login").ok


def test_the_login_page_offers_the_passkey_before_the_password(client):
    page = client.get(reverse("admin:login")).content.decode()
    assert page.index('id="passkey-verification-placeholder"') < page.index('id="login-form"')
    # No inline script: the configuration is a JSON data block, the scripts are files (the CSP allows no other).
    for tag in re.findall(r"<script[^>]*>", page):
        assert 'type="application/json"' in tag or "src=" in tag, tag
