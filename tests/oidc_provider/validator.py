"""The claims the test provider puts in its tokens, read from the directory file at every token."""

import json

from django.conf import settings
from oauth2_provider.oauth2_validators import OAuth2Validator

DIRECTORY = settings.DIR / "directory.json"


def directory() -> dict:
    return json.loads(DIRECTORY.read_text())


class DirectoryValidator(OAuth2Validator):
    # Every claim below goes into the ID token and the userinfo answer, whatever the scopes.
    oidc_claim_scope = None

    def get_additional_claims(self, request):
        person = directory()["people"].get(request.user.get_username(), {})
        claims = {key: person[key] for key in ("email", "email_verified", "groups", "amr", "acr") if key in person}
        claims["preferred_username"] = request.user.get_username()
        if audience := directory().get("audience"):
            claims["aud"] = audience  # misbehaving on purpose: a token meant for another client
        return claims

    def get_oidc_issuer_endpoint(self, request):
        # misbehaving on purpose when the directory says so: tokens that name another issuer
        return directory().get("issuer") or super().get_oidc_issuer_endpoint(request)
