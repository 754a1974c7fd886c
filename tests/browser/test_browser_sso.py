"""Single sign-on in a real browser against a real OpenID Connect provider (tests/oidc_provider/: django-oauth-toolkit
on loopback, RS256 ID tokens): the first sign-in makes the staff account with the role its groups map to and asks
for the portal's own second factor; a changed groups claim changes the role at the next sign-in, where the
provider's trusted multi-factor stands in for the portal's; tokens from another issuer or for another audience, a
replayed callback (state), a token answering another sign-in attempt (nonce) and an unverified e-mail are refused;
a step-up is given by signing in again at the provider; the local break-glass superuser still signs in with
password and code."""

from __future__ import annotations

import time
from importlib import import_module
from urllib.parse import parse_qs, urlsplit

from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from security import proof
from security.models import OIDCSubject, SecurityEvent
from tests.two_factor_support import enrol, fresh_code, key_from_base32


def sign_in_at_provider(page, base: str, name: str) -> None:
    """From the portal's login page through the SSO button; the provider asks for its password if it has no session."""
    page.goto(f"{base}/admin/login/")
    page.get_by_role("link", name="Sign in with the test provider").click()
    if page.url.startswith(base):
        return  # the provider's own session answered at once
    provider_form(page, name)


def provider_form(page, name: str) -> None:
    expect(page.get_by_role("heading", name="Test provider")).to_be_visible()
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(f"{name}-provider-password")
    page.get_by_role("button", name="Sign in at the provider").click()


def session_of(page, base: str):
    """The portal's session of this browser, as the server keeps it."""
    key = next(c["value"] for c in page.context.cookies(base) if c["name"] == django_settings.SESSION_COOKIE_NAME)
    return import_module(django_settings.SESSION_ENGINE).SessionStore(key)


def refused(page, words: str) -> None:
    expect(page.locator("ul.messagelist .error")).to_contain_text(f"Single sign-on refused: {words}")
    assert urlsplit(page.url).path == "/admin/login/"


def log_out(page, base: str) -> None:
    """The admin's *Log out*: for a person who signed in at the provider, through the provider's logout (its session
    ends too) and back to the portal's login page."""
    page.locator("#logout-form").get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{base}/admin/login/")
    expect(page.locator("#sso-button")).to_be_visible()


def test_first_sign_in_makes_the_account_and_groups_move_the_role(live_server, page, sso, settings):
    base = live_server.url
    sso.person("ada", groups=["alchemiscale-admins", "unrelated"], amr=["pwd"])

    # The login page: the SSO button first, the password form after it.
    page.goto(f"{base}/admin/login/")
    button, username = page.locator("#sso-button"), page.locator("#id_username")
    assert button.evaluate(
        "(b, u) => !!(b.compareDocumentPosition(u) & Node.DOCUMENT_POSITION_FOLLOWING)", username.element_handle()
    )

    # First sign-in: the account is made, linked to (issuer, sub), with the mapped role; the portal's own second
    # factor follows (the provider did a password only), starting with enrolment.
    sign_in_at_provider(page, base, "ada")
    expect(page.get_by_role("heading", name="Set up two-factor login")).to_be_visible()
    ada = get_user_model().objects.get(oidc_subjects__issuer=sso.issuer)
    assert ada.username == "sso-ada" and ada.is_staff and not ada.is_superuser and not ada.has_usable_password()
    assert ada.email == "ada@lab.example.org"
    assert set(ada.groups.values_list("name", flat=True)) == {"restorer"}
    key = key_from_base32(page.locator("#totp-secret").inner_text())
    page.get_by_label("Code").fill(fresh_code(key, ada))
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("link", name="I have saved them").click()
    expect(page).to_have_url(f"{base}/admin/")
    log_out(page, base)

    # The groups changed at the provider, which now says it did multi-factor, and the portal trusts that: the role
    # follows the groups, and no code is asked.
    sso.person("ada", groups=["alchemiscale-ops"], amr=["pwd", "mfa"])
    settings.OIDC_TRUST_MFA = True
    page.get_by_role("link", name="Sign in with the test provider").click()
    provider_form(page, "ada")  # asked again: the log out ended the provider's session too
    expect(page).to_have_url(f"{base}/admin/")
    assert set(ada.groups.values_list("name", flat=True)) == {"operator"}
    assert get_user_model().objects.filter(oidc_subjects__isnull=False).count() == 1
    events = list(SecurityEvent.objects.filter(username="sso-ada").order_by("id").values_list("kind", "note"))
    assert ("role-granted", "restorer") in events and ("role-removed", "restorer") in events
    assert ("role-granted", "operator") in events
    logins = [note for kind, note in events if kind == "sso-login"]
    assert logins == ["new account; provider did multi-factor: no", "provider did multi-factor: yes"]

    # No mapped group left: the role is taken away and the sign-in refused.
    sso.person("ada", groups=["unrelated"])
    log_out(page, base)
    sign_in_at_provider(page, base, "ada")
    refused(page, "your groups at the provider no longer give you a role")
    assert not ada.groups.exists()


def test_refusals_and_the_break_glass_login(live_server, page, sso, settings, django_user_model):
    base = live_server.url
    sso.person("grace", groups=["alchemiscale-ops"])

    # An e-mail address the provider does not say is verified.
    sso.person("grace", email_verified=False)
    sign_in_at_provider(page, base, "grace")
    refused(page, "the provider does not say the e-mail address 'grace@lab.example.org' is verified")
    sso.person("grace", email_verified=True)

    # A token naming another issuer, then one meant for another client.
    sso.misbehave(issuer="http://127.0.0.1:9/elsewhere")
    sign_in_at_provider(page, base, "grace")
    refused(page, "the token was issued by 'http://127.0.0.1:9/elsewhere'")
    sso.misbehave(audience="another-application")
    sign_in_at_provider(page, base, "grace")
    refused(page, "the token is meant for ['another-application']")
    sso.misbehave()
    assert not OIDCSubject.objects.exists()

    # A token answering another sign-in attempt of this browser (nonce): two attempts started, the provider's
    # answer to the first handed to the second's callback. PKCE off here, or the provider would refuse the code
    # first (it is bound to the first attempt's challenge too).
    settings.OIDC_USE_PKCE = False
    # Redirects cannot be intercepted in the page, so the two attempts go through the context's request API, which
    # shares the browser's cookies (the portal's session, the provider's): the provider's answer is read from its
    # redirect instead of followed.
    answers = []
    for _ in range(2):
        to_provider = page.request.get(f"{base}/admin/sso/start/", max_redirects=0).headers["location"]
        answers.append(page.request.get(to_provider, max_redirects=0).headers["location"])
    first, second = (parse_qs(urlsplit(url).query) for url in answers)
    page.goto(f"{base}/admin/sso/callback/?code={first['code'][0]}&state={second['state'][0]}")
    refused(page, "JWT Nonce verification failed")
    settings.OIDC_USE_PKCE = True

    # A callback replayed: the state was used up by the first visit.
    with page.expect_request(lambda r: "/admin/sso/callback/" in r.url) as callback:
        sign_in_at_provider(page, base, "grace")
    expect(page.get_by_role("heading", name="Set up two-factor login")).to_be_visible()
    grace = django_user_model.objects.get(username="sso-grace")
    page.goto(callback.value.url)
    refused(page, "this sign-in answer was used already")
    kinds = SecurityEvent.objects.filter(kind="sso-refused").values_list("note", flat=True)
    assert len(kinds) == 5, list(kinds)
    assert set(grace.groups.values_list("name", flat=True)) == {"operator"}

    # Step-up for a person without the portal's authenticator (the provider's multi-factor trusted): signing in again
    # at the provider, which is asked to check the person afresh (prompt=login) rather than reuse its session.
    settings.OIDC_TRUST_MFA = True
    sso.person("grace", amr=["pwd", "mfa"])
    sign_in_at_provider(page, base, "grace")
    expect(page).to_have_url(f"{base}/admin/")
    session = session_of(page, base)
    session[proof.PROOF_KEY] = time.time() - 3600  # the last proof an hour old
    session.save()
    page.goto(f"{base}/admin/step-up/")
    expect(page.locator("#step-up-why")).to_be_visible()
    page.get_by_role("link", name="Sign in with the test provider").click()
    provider_form(page, "grace")
    expect(page).to_have_url(f"{base}/admin/")
    assert time.time() - session_of(page, base)[proof.PROOF_KEY] < 60
    log_out(page, base)

    # The break-glass superuser: password and code, on the same login page below the button.
    root = django_user_model.objects.create_superuser("root", "root@example.org", "root-password-1")
    key, _ = enrol(root)
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "root-password-1")
    page.click("input[type=submit]")
    page.get_by_label("Code").fill(fresh_code(key, root))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(f"{base}/admin/")
