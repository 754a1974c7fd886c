"""Passkeys in a real browser: Chromium's virtual authenticator (DevTools protocol, WebAuthn domain) plays the
security keys, so every ceremony is the real one: the browser makes the key pair and signs the portal's challenges,
the portal checks them with django-otp-webauthn.

One story: enrol two passkeys (each on its own key) and name them, make recovery codes for the passkey-only account,
sign in with a passkey and no password, pass the step-up before a restore with it, remove one and see it refused at
the login page, then give the other as the second factor after the password. Each step is in the audit list.

WebAuthn refuses IP addresses as relying-party ids: the portal is reached as http://localhost:PORT (the live
server's own name, a loopback address), which browsers treat as a secure origin."""

from __future__ import annotations

from playwright.sync_api import expect

from security.models import SecurityEvent
from tests.browser.staff import restore_asks_for_step_up

# A platform authenticator that keeps discoverable credentials and checks its owner (PIN or fingerprint) at once.
KEY_OPTIONS = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


class VirtualKeys:
    """Security keys plugged into and out of the page's browser, their credentials kept to plug in again."""

    def __init__(self, page):
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("WebAuthn.enable")

    def plug_in(self, *credentials: dict) -> str:
        key = self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": KEY_OPTIONS})["authenticatorId"]
        for credential in credentials:
            self.cdp.send("WebAuthn.addCredential", {"authenticatorId": key, "credential": credential})
        return key

    def pull_out(self, key: str) -> dict:
        """Unplug the key; its one credential, to plug in again later."""
        (credential,) = self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": key})["credentials"]
        self.cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": key})
        return credential


def enrol(page, keys: VirtualKeys, name: str) -> dict:
    key = keys.plug_in()
    page.get_by_label("Name of the new passkey").fill(name)
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_text(f"Passkey named {name}.")).to_be_visible()
    return keys.pull_out(key)


def log_out(page) -> None:
    page.locator("#logout-form").get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Logged out")).to_be_visible()


def kinds_and_notes(username: str) -> list[tuple[str, str]]:
    return list(SecurityEvent.objects.filter(username=username).order_by("at", "id").values_list("kind", "note"))


def test_passkeys_enrol_sign_in_step_up_remove_and_second_step(
    live_server, page, staff_login, alice, settings, request, browser_errors
):
    base = live_server.url
    assert base.startswith("http://localhost:")
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [base]
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    keys = VirtualKeys(page)
    staff_login()  # development: 2FA optional, alice has no second factor yet

    # Enrol two passkeys, each on its own key, named as typed.
    page.get_by_role("link", name="Passkeys").click()
    expect(page.locator("#no-passkeys")).to_be_visible()
    laptop = enrol(page, keys, "laptop key")
    spare = enrol(page, keys, "spare key")
    expect(page.locator("td.passkey-name")).to_have_text(["laptop key", "spare key"])

    # Passkeys only, so no recovery codes yet: made on request, shown once.
    expect(page.locator("#recovery-left")).to_have_text("Recovery codes left: 0.")
    page.get_by_role("button", name="Make recovery codes").click()
    expect(page.locator("code.recovery-code")).to_have_count(10)
    page.get_by_role("link", name="I have saved them").click()
    expect(page.locator("#recovery-left")).to_have_text("Recovery codes left: 10.")
    log_out(page)

    # Sign in with the laptop key and no password: both factors, so no second step.
    key = keys.plug_in(laptop)
    page.goto(f"{base}/admin/login/?next=/admin/operations/backup/")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page).to_have_url(f"{base}/admin/operations/backup/")
    expect(page.locator("#user-tools")).to_contain_text("alice")

    # Step-up before a restore: the last proof is older than the setting; the passkey proves it.
    backup = restore_asks_for_step_up(page, base, settings, request)
    page.get_by_role("button", name="Use a passkey").click()
    expect(page.locator("#confirm-restore")).to_be_visible()
    assert page.url.endswith(f"/admin/operations/backup/{backup.pk}/restore/")

    # Remove the laptop key: the key still holds its credential, but the portal no longer knows it.
    page.get_by_role("link", name="Passkeys").click()
    page.get_by_role("button", name="Remove laptop key").click()
    expect(page.get_by_text("Passkey laptop key removed")).to_be_visible()
    # This session was verified by that passkey: it must give a second factor again before anything else.
    expect(page.get_by_role("heading", name="Second step: your code")).to_be_visible()
    log_out(page)
    page.goto(f"{base}/admin/login/")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.locator("#passkey-verification-status-message")).to_contain_text("not found")
    page.goto(f"{base}/admin/")
    expect(page).to_have_url(f"{base}/admin/login/?next=/admin/")  # not signed in
    # The refusal's 404 is the browser's console error: expected here, and the only one.
    assert [e for e in browser_errors if "404" not in e] == []
    browser_errors.clear()

    # The spare key, as the second factor after the password (a key holds one passkey per account: swap keys).
    keys.pull_out(key)
    keys.plug_in(spare)
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-password-1")
    page.click("input[type=submit]")
    expect(page.get_by_role("heading", name="Second step: your code")).to_be_visible()
    page.get_by_role("button", name="Use a passkey").click()
    expect(page).to_have_url(f"{base}/admin/")
    page.get_by_role("link", name="Passkeys").click()
    expect(page.locator("td.passkey-name")).to_have_text(["spare key"])

    events = kinds_and_notes("alice")
    assert [n for k, n in events if k == "passkey-added"] == ["passkey 1", "passkey 2"]
    assert [n for k, n in events if k == "passkey-renamed"] == ["passkey 1 -> laptop key", "passkey 2 -> spare key"]
    assert [n for k, n in events if k == "passkey-used"] == [
        "sign-in without password: laptop key",
        "step-up: laptop key",
        "login: spare key",
    ]
    assert [n for k, n in events if k == "passkey-removed"] == ["laptop key"]
    refused = SecurityEvent.objects.filter(kind="failed", note__contains="credential_not_found")
    assert refused.count() == 1 and refused.get().username == ""
