"""``python -m tests.oidc_provider.setup REDIRECT_URI CLIENT_ID SECRET PERSON...``: the portal registered as a
confidential client (authorisation code, RS256, no consent screen) and the people, each with password
``<name>-provider-password``."""

import sys

import django

django.setup()

from django.contrib.auth.models import User  # noqa: E402  (after django.setup())
from oauth2_provider.models import Application  # noqa: E402

redirect_uri, client_id, secret, *people = sys.argv[1:]
Application.objects.update_or_create(
    client_id=client_id,
    defaults={
        "name": "alchemiscale portal",
        "client_secret": secret,
        "client_type": Application.CLIENT_CONFIDENTIAL,
        "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
        "algorithm": Application.RS256_ALGORITHM,
        "redirect_uris": redirect_uri,
        "skip_authorization": True,
    },
)
for name in people:
    user, _ = User.objects.get_or_create(username=name)
    user.set_password(f"{name}-provider-password")
    user.save()
