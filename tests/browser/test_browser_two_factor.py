"""Two-factor login in a real browser, as a person does it: enrol an authenticator from the QR page (its codes
computed here from the secret shown, as an app would), log in with the password then the code, a wrong code refused
and the next attempt throttled, a recovery code working once, and the step-up asked before a restore, then accepted
and the restore requested. Every page is served under the portal's Content-Security-Policy: a blocked inline
script would be a console error, which fails the test (conftest)."""

from __future__ import annotations

import os
import re
import time

from playwright.sync_api import expect

from operations.models import OperationRun
from operations.runs import requests as run_requests
from security.models import SecurityEvent
from tests.browser.staff import restore_asks_for_step_up
from tests.two_factor_support import fresh_code, key_from_base32, wrong_code


def log_in_with_password(page, base_url: str) -> None:
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-password-1")
    page.click("input[type=submit]")
    expect(page.get_by_role("heading", name="Second step: your code")).to_be_visible()
    assert "/admin/2fa/verify/" in page.url


def give_code(page, code: str) -> None:
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Verify").click()


def log_out(page) -> None:
    page.locator("#logout-form").get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Logged out")).to_be_visible()


def test_enrol_log_in_throttle_recovery_and_step_up_before_a_restore(
    live_server, page, staff_login, alice, settings, request
):
    base = live_server.url
    staff_login()  # development: 2FA optional, alice has none yet

    # Enrol: QR code drawn on the server, the secret beside it; confirm with the current code.
    page.get_by_role("link", name="Two-factor login").click()
    expect(page.locator("#totp-qr svg")).to_be_visible()
    key = key_from_base32(page.locator("#totp-secret").inner_text())
    page.get_by_label("Code").fill(wrong_code(key))
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#code-error")).to_contain_text("not the authenticator's current code")
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # the enrolment's wrong code is not what this test throttles
    page.get_by_label("Code").fill(fresh_code(key, alice))
    page.get_by_role("button", name="Confirm").click()
    codes = page.locator("code.recovery-code").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[2-9a-hjkmnp-z]{5}-[2-9a-hjkmnp-z]{5}", c) for c in codes)
    page.get_by_role("link", name="I have saved them").click()
    log_out(page)

    # Log in: the password, then the code. A wrong code is refused; right after it, even the right one is throttled.
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    log_in_with_password(page, base)
    page.goto(f"{base}/admin/operations/backup/")  # nothing opens before the second step
    expect(page.get_by_role("heading", name="Second step: your code")).to_be_visible()
    give_code(page, wrong_code(key))
    expect(page.locator("#code-error")).to_have_text("Wrong code.")
    give_code(page, fresh_code(key, alice))
    expect(page.locator("#code-error")).to_contain_text("After one wrong code, wait")  # not "too many" after one
    settings.OTP_TOTP_THROTTLE_FACTOR = 1  # the wait after one wrong code is then 1 s
    time.sleep(1.5)
    give_code(page, fresh_code(key, alice))
    expect(page).to_have_url(f"{base}/admin/operations/backup/")
    failed = list(SecurityEvent.objects.filter(username="alice").values_list("kind", flat=True))
    assert failed.count("failed") == 2 and failed.count("throttled") == 1 and "enrolled" in failed
    log_out(page)

    # A recovery code lets in once.
    log_in_with_password(page, base)
    give_code(page, codes[0])
    expect(page.get_by_text("Recovery code used; 9 left.")).to_be_visible()
    log_out(page)
    log_in_with_password(page, base)
    give_code(page, codes[0])
    expect(page.locator("#code-error")).to_have_text("Wrong code.")
    time.sleep(1.5)  # the throttle after that one wrong code
    give_code(page, codes[1].replace("-", "").upper())  # typed without the dash, in capitals: still accepted
    expect(page.get_by_text("Recovery code used; 8 left.")).to_be_visible()
    assert SecurityEvent.objects.filter(username="alice", kind="recovery-used").count() == 2

    # Step-up: the last proof is older than the setting; the restore never runs (see below).
    backup = restore_asks_for_step_up(page, base, settings, request)
    page.get_by_label("Code").fill(wrong_code(key))
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#step-up-error")).to_have_text("Wrong code.")
    time.sleep(1.5)
    page.get_by_label("Code").fill(fresh_code(key, alice))
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#confirm-restore")).to_be_visible()
    assert page.url.endswith(f"/admin/operations/backup/{backup.pk}/restore/")

    # ... and the restore goes on (to a queue no worker takes: the run is cancelled before anything runs).
    settings.OPERATIONS_QUEUE = f"nobody-listens-{os.getpid()}"
    page.get_by_label("To confirm, type the database name").fill("neo4j")
    page.get_by_role("button", name="Restore").click()
    expect(page.locator("#status")).to_have_text("pending")
    run = OperationRun.objects.get(kind="restore")
    run_requests.cancel_run(run.pk, alice)
    run.refresh_from_db()
    assert run.status == "cancelled" and run.requested_by_label == "alice"
