"""A software passkey for the unit tier: an ES256 key pair answering the portal's WebAuthn options as a security key
and a browser would together (authenticator data, client data, signature; attestation "none"), so the ceremonies
run through the portal's real endpoints and django-otp-webauthn's real checks without Chromium. The browser test
(tests/browser/test_browser_passkeys.py) does the same with Chromium's virtual authenticator.

Also ``passkey_row``: a passkey as stored, for tests that only need one to exist."""

from __future__ import annotations

import hashlib
import json
import os
import struct

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.urls import reverse
from django_otp_webauthn.models import WebAuthnCredential
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

UP, UV, AT = 0x01, 0x04, 0x40  # authenticator data flags: user present, user verified, attested credential data


def passkey_row(user, name: str = "passkey 1") -> WebAuthnCredential:
    credential_id = os.urandom(32)
    return WebAuthnCredential.objects.create(
        user=user, name=name, confirmed=True, credential_id=credential_id, public_key=b"\xa0", aaguid="0" * 36
    )


class SoftKey:
    def __init__(self, rp_id: str, origin: str):
        self.rp_id, self.origin = rp_id, origin
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.user_handle = b""
        self.count = 0

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": False}).encode()

    def _auth_data(self, flags: int, attested: bytes = b"") -> bytes:
        self.count += 1
        return hashlib.sha256(self.rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", self.count) + attested

    def create(self, options: dict) -> dict:
        """The answer to registration options (navigator.credentials.create)."""
        self.user_handle = base64url_to_bytes(options["user"]["id"])
        numbers = self.private.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})
        attested = bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id + cose
        auth_data = self._auth_data(UP | UV | AT, attested)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"])
        response = {"attestationObject": bytes_to_base64url(attestation), "transports": ["internal"]}
        return self._answer(client_data, response, {"credProps": {"rk": True}})

    def get(self, options: dict) -> dict:
        """The answer to authentication options (navigator.credentials.get), the owner verified."""
        client_data = self._client_data("webauthn.get", options["challenge"])
        auth_data = self._auth_data(UP | UV)
        signature = self.private.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        response = {
            "authenticatorData": bytes_to_base64url(auth_data),
            "signature": bytes_to_base64url(signature),
            "userHandle": bytes_to_base64url(self.user_handle),
        }
        return self._answer(client_data, response, {})

    def _answer(self, client_data: bytes, response: dict, extensions: dict) -> dict:
        """The PublicKeyCredential as the browser's script sends it, in JSON."""
        return {
            "id": bytes_to_base64url(self.credential_id),
            "rawId": bytes_to_base64url(self.credential_id),
            "type": "public-key",
            "response": {"clientDataJSON": bytes_to_base64url(client_data), **response},
            "clientExtensionResults": extensions,
        }


def _post(client, name: str, body: dict | None = None, query: str = ""):
    return client.post(
        reverse(f"otp_webauthn:credential-{name}") + query, json.dumps(body or {}), content_type="application/json"
    )


def register(client, key: SoftKey):
    """Enrol ``key`` for the client's person through the portal's two registration endpoints."""
    begin = _post(client, "registration-begin")
    assert begin.status_code == 200, begin.content
    return _post(client, "registration-complete", key.create(begin.json()))


def authenticate(client, key: SoftKey, next_url: str = ""):
    """Use ``key`` through the two authentication endpoints (signed in or not); the completion's response."""
    begin = _post(client, "authentication-begin")
    assert begin.status_code == 200, begin.content
    return _post(client, "authentication-complete", key.get(begin.json()), f"?next={next_url}" if next_url else "")
