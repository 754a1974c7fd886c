"""Second factors as service functions: enrol a TOTP authenticator, check a code, hand out and use recovery codes,
reset a person's devices. The views and the admin action are thin over these; every enrolment, reset and failed
code is written to the audit list (SecurityEvent)."""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass

import segno
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from .models import SecurityEvent

RECOVERY_CODES = 10
TOTP_NAME = "authenticator"
RECOVERY_NAME = "recovery codes"
_TOTP_CODE = re.compile(r"\d{6}")


def record(username: str, kind: str, actor: str = "", address: str | None = None, note: str = "") -> SecurityEvent:
    return SecurityEvent.objects.create(
        username=username, actor=actor or username, kind=kind, address=address or None, note=note
    )


def has_second_factor(user) -> bool:
    return user.is_authenticated and user_has_device(user, confirmed=True)


def required_for(user) -> bool:
    """Must this person have a second factor before using the admin?"""
    return bool(settings.REQUIRE_2FA and user.is_authenticated and user.is_staff)


# ---- enrolment ---------------------------------------------------------------------------------------------
def pending_device(user) -> TOTPDevice:
    """A new unconfirmed authenticator with a new secret, replacing any earlier unconfirmed one.

    A new secret per visit of the enrolment page: before a person enrols, the password alone opens that page, so a
    secret shown once must be void as soon as the page is opened again, or whoever saw it first could later sign in
    with the password and a code computed from it."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)


def open_enrolment(user, address: str | None) -> TOTPDevice:
    """The enrolment page was opened: a new secret, and an audit entry saying so (never the secret)."""
    device = pending_device(user)
    note = "replacing a confirmed authenticator" if has_second_factor(user) else ""
    record(user.get_username(), SecurityEvent.Kind.ENROL_OPENED, address=address, note=note)
    return device


def shown_device(user, device_id: object) -> TOTPDevice | None:
    """The unconfirmed authenticator whose secret this session was shown, if no later visit replaced it."""
    if not isinstance(device_id, int):
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=False, pk=device_id).first()


def secret_base32(device: TOTPDevice) -> str:
    """The secret as authenticator apps take it when typed in by hand."""
    return base64.b32encode(device.bin_key).decode("ascii").rstrip("=")


def qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL as an inline SVG QR code, drawn on the server (nothing leaves the portal)."""
    return segno.make(device.config_url, error="m").svg_inline(scale=5, dark="#000", light="#fff")


def normalise(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


def pretty(code: str) -> str:
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


#: recovery codes are written down and typed back: no 0/o, 1/l/i to mistake for each other (31 characters)
RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
#: 10 characters of it: 49.5 bits
RECOVERY_LENGTH = 10
#: what a person may type for a character the alphabet left out; codes made before it (base32: a-z, 2-7) still
#: hold o, l and i, and never 0 or 1, so this reading is right for old and new codes alike
_TYPED_FOR = str.maketrans("01", "ol")


def new_recovery_code() -> str:
    return "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))


@dataclass
class Check:
    ok: bool
    message: str = ""
    device: object | None = None
    recovery: bool = False


def _throttled(device) -> str:
    allowed, data = device.verify_is_allowed()
    if allowed:
        return ""
    wait = max(1, int(((data or {}).get("locked_until", timezone.now()) - timezone.now()).total_seconds()) + 1)
    failures = (data or {}).get("failure_count") or 1
    wrong = "one wrong code" if failures == 1 else f"{failures} wrong codes in a row"
    return f"After {wrong}, wait {wait} s before trying again (the wait doubles with each wrong code)."


def confirm_enrolment(user, device: TOTPDevice, code: str, address: str | None) -> tuple[Check, list[str]]:
    """Check the first code from the new authenticator; on success it replaces every earlier device of the person
    and a new set of recovery codes is made (returned once, never shown again)."""
    code = normalise(code)
    with transaction.atomic():
        # Locked and read again: a visit of the enrolment page meanwhile replaced it, and saving the stale object
        # (verify_token saves its throttle counters) would bring the void secret back.
        current = TOTPDevice.objects.select_for_update().filter(pk=device.pk, user=user, confirmed=False).first()
        if current is None:
            record(user.get_username(), SecurityEvent.Kind.FAILED, address=address, note="enrolment: secret replaced")
            return Check(False, "This secret was replaced: the enrolment page was opened again. Use the new one."), []
        device = current
        if message := _throttled(device):
            record(user.get_username(), SecurityEvent.Kind.THROTTLED, address=address, note="enrolment")
            return Check(False, message), []
        if not _TOTP_CODE.fullmatch(code) or not device.verify_token(code):
            record(user.get_username(), SecurityEvent.Kind.FAILED, address=address, note="enrolment: wrong code")
            return Check(False, "That code is not the authenticator's current code: check the clock and try again."), []
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        StaticDevice.objects.filter(user=user).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _new_recovery_codes(user)
        record(user.get_username(), SecurityEvent.Kind.ENROLLED, address=address)
    return Check(True, device=device), codes


def recovery_hash(code: str) -> str:
    """What the database keeps of a recovery code: an HMAC-SHA256 keyed with PORTAL_SECRET_KEY, in base32 capitals
    cut to the 16 characters django-otp's token column holds (80 bits).

    Keyed rather than a plain hash: a code has only about 50 bits (40 for the older ones), so anyone holding a copy
    of the database (the copy beside every backup) could try them all against a plain hash; the key is not in the
    database. Capitals, so a stored hash never equals a code as typed (always lower case after normalise()). A 0 or
    1 typed reads as o or l (see _TYPED_FOR)."""
    digest = salted_hmac("security.recovery-code", normalise(code).translate(_TYPED_FOR), algorithm="sha256").digest()
    return base64.b32encode(digest).decode("ascii")[:16]


def first_recovery_codes(user, address: str | None) -> list[str]:
    """Recovery codes for a person with passkeys and no recovery code left (or none ever: passkeys only,
    security/passkeys.py); returned once. An empty list while a code is left: a set in use is never replaced here
    (enrolling the authenticator again does that)."""
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()  # one such request per person at a time
        if recovery_codes_left(user) or not WebAuthnCredential.objects.filter(user=user, confirmed=True).exists():
            return []
        StaticDevice.objects.filter(user=user).delete()
        codes = _new_recovery_codes(user)
        record(user.get_username(), SecurityEvent.Kind.ENROLLED, address=address, note="recovery codes beside passkeys")
    return codes


def _new_recovery_codes(user) -> list[str]:
    static = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=static, token=recovery_hash(c)) for c in codes])
    return [pretty(c) for c in codes]


# ---- checking a code ---------------------------------------------------------------------------------------
def check_code(user, code: str, address: str | None, where: str) -> Check:
    """A six-digit code goes to the person's authenticator, anything else is tried as a recovery code (used up on
    success). Wrong codes are throttled per device by django-otp (1, 2, 4, ... s) and recorded."""
    code = normalise(code)
    is_totp = bool(_TOTP_CODE.fullmatch(code))
    model = TOTPDevice if is_totp else StaticDevice
    with transaction.atomic():
        device = model.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is None:
            message = "No authenticator is enrolled." if is_totp else "No recovery codes are left."
            record(user.get_username(), SecurityEvent.Kind.FAILED, address=address, note=f"{where}: {message}")
            return Check(False, "Wrong code." if code else "Enter a code.")
        if message := _throttled(device):
            record(user.get_username(), SecurityEvent.Kind.THROTTLED, address=address, note=where)
            return Check(False, message)
        # django-otp finds the token by equality: given the hash, it compares hashes.
        if not code or not device.verify_token(code if is_totp else recovery_hash(code)):
            kind = "authenticator code" if is_totp else "recovery code"
            record(user.get_username(), SecurityEvent.Kind.FAILED, address=address, note=f"{where}: wrong {kind}")
            return Check(False, "Wrong code.")
    if not is_totp:
        left = StaticToken.objects.filter(device=device).count()
        record(
            user.get_username(),
            SecurityEvent.Kind.RECOVERY_USED,
            address=address,
            note=f"{where}; {left} recovery code{'s' if left != 1 else ''} left",
        )
    return Check(True, device=device, recovery=not is_totp)


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


# ---- reset -------------------------------------------------------------------------------------------------
def reset_devices(user, actor: str, address: str | None = None) -> int:
    """Remove every device of the person, passkeys included: they enrol again at their next login (if 2FA is
    required)."""
    with transaction.atomic():
        count = 0
        for model in (TOTPDevice, StaticDevice, WebAuthnCredential):
            count += model.objects.filter(user=user).count()
            model.objects.filter(user=user).delete()
        record(user.get_username(), SecurityEvent.Kind.RESET, actor=actor, address=address)
    return count
