"""Passkeys (WebAuthn) as a second factor beside the authenticator app, for the step-up, and to sign in without the
password: service functions over django-otp-webauthn's ``WebAuthnCredential`` (a django-otp device, so
``twofactor.has_second_factor`` counts it and the login's second step asks for it).

The ceremonies themselves (options, signature checks, sign counts) are the library's; the portal adds who may start
them (passkey_views.py), a name per passkey, the audit list, and the rule that adding a passkey to an account that
already has a second factor needs a recent proof, as replacing the authenticator does. Life of a passkey:

1. *Enrolment*: on the Passkeys page the browser creates a key pair; ``PortalWebAuthnHelper.register_complete`` keeps
   the public key under a default name (``passkey 2``) and records ``passkey-added``; the page then gives it the name
   the person typed (``rename``).
2. *Use*: the login's second step, the step-up page, or the login page without a password (``record_use``).
3. *Removal* (``remove``) by the person, or every passkey at once by a superuser's reset (twofactor.reset_devices).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.models import WebAuthnCredential
from django_otp_webauthn.settings import app_settings

from .models import SecurityEvent
from .twofactor import record

NAME_LENGTH = 64  # django-otp's Device.name


def _address(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def passkeys_of(user) -> QuerySet[WebAuthnCredential]:
    return WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("created_at", "pk")


def has_passkey(user) -> bool:
    return user.is_authenticated and passkeys_of(user).exists()


def passwordless_allowed() -> bool:
    """May a passkey sign a person in without the password (PORTAL_PASSKEY_SIGN_IN)?"""
    return bool(app_settings.OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN)


def clean_name(name: str) -> str:
    """A name as typed, on one line and within the column; ValueError when nothing is left."""
    cleaned = " ".join((name or "").split())[:NAME_LENGTH]
    if not cleaned:
        raise ValueError("Give the passkey a name, e.g. the key or the computer it lives on.")
    return cleaned


class PortalWebAuthnHelper(WebAuthnHelper):
    """The library's helper (settings: OTP_WEBAUTHN_HELPER_CLASS) with a name for each new passkey and an audit entry."""

    def register_complete(self, user, state: dict, data: dict):
        with transaction.atomic():
            device = super().register_complete(user=user, state=state, data=data)
            device.name = f"passkey {passkeys_of(user).count()}"
            device.save(update_fields=["name"])
            record(
                user.get_username(), SecurityEvent.Kind.PASSKEY_ADDED, address=_address(self.request), note=device.name
            )
        return device


def record_use(user, device: WebAuthnCredential, address: str | None, where: str) -> None:
    record(user.get_username(), SecurityEvent.Kind.PASSKEY_USED, address=address, note=f"{where}: {device.name}")


def record_refusal(username: str, address: str | None, where: str, reason: str) -> None:
    record(username, SecurityEvent.Kind.FAILED, address=address, note=f"{where}: passkey refused ({reason})")


def rename(user, passkey_id: object, name: str, address: str | None) -> WebAuthnCredential:
    """Give one of the person's own passkeys a new name. LookupError for another person's or an unknown id."""
    name = clean_name(name)
    with transaction.atomic():
        device = _own(user, passkey_id)
        old, device.name = device.name, name
        device.save(update_fields=["name"])
        if old != name:
            record(user.get_username(), SecurityEvent.Kind.PASSKEY_RENAMED, address=address, note=f"{old} -> {name}")
    return device


def remove(user, passkey_id: object, address: str | None) -> str:
    """Delete one of the person's own passkeys (it no longer signs in or proves anything); returns its name."""
    with transaction.atomic():
        device = _own(user, passkey_id)
        name = device.name
        device.delete()  # its attestation goes with it (CASCADE)
        record(user.get_username(), SecurityEvent.Kind.PASSKEY_REMOVED, address=address, note=name)
    return name


def _own(user, passkey_id: object) -> WebAuthnCredential:
    try:
        pk = int(str(passkey_id))
    except ValueError:
        raise LookupError("No such passkey.") from None
    device = WebAuthnCredential.objects.select_for_update().filter(user=user, pk=pk).first()
    if device is None:
        raise LookupError("No such passkey of yours: it was removed, or it is someone else's.")
    return device
