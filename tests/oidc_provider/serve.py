"""``python -m tests.oidc_provider.serve PORT REDIRECT_URI CLIENT_ID SECRET PERSON...``: the provider's tables made,
the portal registered as a confidential client (authorisation code, RS256, no consent screen), the people made
(password ``<name>-provider-password``), then served on 127.0.0.1:PORT. One process: a Django start costs seconds
on a busy machine, and the tables come straight from the models (no migrations: nothing here is ever upgraded)."""

import sys

import django

django.setup()

from django.contrib.auth.models import User  # noqa: E402  (after django.setup())
from django.core.management import call_command  # noqa: E402
from django.core.servers.basehttp import run  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from oauth2_provider.models import Application  # noqa: E402

port, redirect_uri, client_id, secret, *people = sys.argv[1:]
call_command("migrate", run_syncdb=True, verbosity=0)
Application.objects.update_or_create(
    client_id=client_id,
    defaults={
        "name": "alchemiscale portal",
        "client_secret": secret,
        "client_type": Application.CLIENT_CONFIDENTIAL,
        "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
        "algorithm": Application.RS256_ALGORITHM,
        "redirect_uris": redirect_uri,
        # after the provider's logout, back to the portal's login page
        "post_logout_redirect_uris": redirect_uri.replace("/sso/callback/", "/login/"),
        "skip_authorization": True,
    },
)
for name in people:
    user, _ = User.objects.get_or_create(username=name)
    user.set_password(f"{name}-provider-password")
    user.save()
# Not threaded: Django then closes every connection after its answer, so one slow browser tab cannot hold it.
run("127.0.0.1", int(port), get_wsgi_application(), threading=False)
