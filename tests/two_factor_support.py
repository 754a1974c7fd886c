"""Authenticator codes computed in the tests, as an authenticator app computes them from the secret (RFC 6238)."""

from __future__ import annotations

import base64
import time

from django_otp.oath import hotp
from django_otp.plugins.otp_totp.models import TOTPDevice

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
