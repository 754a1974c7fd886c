"""Authenticator codes computed in the tests, as an authenticator app computes them from the secret (RFC 6238), and
the steps the two-factor tests share: a password login, an old proof, an enrolment."""

from __future__ import annotations

import base64
import time

from django.urls import reverse
from django_otp.oath import hotp
from django_otp.plugins.otp_totp.models import TOTPDevice

from security import proof, twofactor

STEP = 30


def key_from_base32(secret: str) -> bytes:
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def current_step() -> int:
    return int(time.time()) // STEP


def code_at(key: bytes, step: int) -> str:
    return f"{hotp(key, step, digits=6):06d}"


def fresh_code(key: bytes, user) -> str:
    """A code the portal has not seen yet: codes are single use, so after one was accepted in this 30 s step the next
    is the following step's (the portal accepts one step of clock skew), waiting for the clock when needed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    step = current_step()
    if device is not None and device.last_t >= step:
        step = device.last_t + 1
        while step > current_step() + 1:
            time.sleep(0.5)
    return code_at(key, step)


def wrong_code(key: bytes) -> str:
    """Six digits that are none of the codes the portal would accept now."""
    valid = {code_at(key, current_step() + d) for d in range(-2, 3)}
    return next(c for c in (f"{n:06d}" for n in range(123456, 999999, 7919)) if c not in valid)


def password_login(client, username="alice", password="alice-password-1"):
    return client.post(reverse("admin:login"), {"username": username, "password": password, "next": "/admin/"})


def make_proof_old(client) -> None:
    """The session's last proof an hour ago: the next destructive request asks for a step-up."""
    session = client.session
    session[proof.PROOF_KEY] = time.time() - 3600
    session.save()


def enrol(user) -> tuple[bytes, list[str]]:
    """An authenticator enrolled and confirmed through the service functions; its key and the recovery codes."""
    device = twofactor.pending_device(user)
    check, codes = twofactor.confirm_enrolment(user, device, code_at(device.bin_key, current_step()), "127.0.0.1")
    assert check.ok, check.message
    return device.bin_key, codes
