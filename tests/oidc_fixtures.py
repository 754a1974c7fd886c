"""The test OpenID Connect provider (tests/oidc_provider/) started once per session on a free loopback port, and
the portal's settings pointed at it.

The provider is real: django-oauth-toolkit's authorisation, token, userinfo, discovery and key endpoints, ID tokens
signed RS256 with a key made here, at the start of the session. What it says about people comes from its directory
file, which :meth:`Provider.person` and :meth:`Provider.misbehave` rewrite.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent
CLIENT_ID = "alchemiscale-portal"
CLIENT_SECRET = "portal-client-secret-for-tests"
PEOPLE = ("ada", "grace")


@dataclass
class Provider:
    url: str
    directory_file: Path

    @property
    def issuer(self) -> str:
        return self.url + "/o"

    def _write(self, directory: dict) -> None:
        self.directory_file.write_text(json.dumps(directory))

    def reset(self) -> None:
        """Everyone verified, in no group; the provider behaving."""
        people = {name: {"email": f"{name}@lab.example.org", "email_verified": True, "groups": []} for name in PEOPLE}
        self._write({"people": people})

    def person(self, name: str, **claims) -> None:
        directory = json.loads(self.directory_file.read_text())
        directory["people"][name].update(claims)
        self._write(directory)

    def misbehave(self, issuer: str = "", audience: str = "") -> None:
        directory = json.loads(self.directory_file.read_text())
        directory.update(issuer=issuer, audience=audience)
        self._write(directory)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def oidc_provider(live_server, tmp_path_factory):
    """The provider, with the portal (live_server) registered as its client."""
    directory = tmp_path_factory.mktemp("oidc-provider")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (directory / "signing-key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.oidc_provider.settings", "PROVIDER_DIR": str(directory)}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    port = _free_port()
    provider = Provider(f"http://127.0.0.1:{port}", directory / "directory.json")
    provider.reset()
    log = open(directory / "provider.log", "w")
    callback = f"{live_server.url}/admin/sso/callback/"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.oidc_provider.serve", str(port), callback, CLIENT_ID, CLIENT_SECRET, *PEOPLE],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(provider.issuer + "/.well-known/openid-configuration", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the test provider did not start: {(directory / 'provider.log').read_text()}")
            time.sleep(0.2)
        yield provider
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def sso(oidc_provider, settings):
    """The portal signing in through the test provider, with two groups mapped to roles."""
    oidc_provider.reset()
    settings.OIDC_ENABLED = True
    settings.OIDC_ISSUER = oidc_provider.issuer
    settings.OIDC_DISCOVERY_URL = oidc_provider.issuer + "/.well-known/openid-configuration"
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_PROVIDER_NAME = "the test provider"
    settings.OIDC_ROLE_MAP = {"alchemiscale-admins": ["restorer"], "alchemiscale-ops": ["operator"]}
    settings.OIDC_TRUST_MFA = False
    return oidc_provider
