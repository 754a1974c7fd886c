"""Single sign-on without a browser (unit tier): the settings, the checks a token must pass, accounts found by
(issuer, sub) only, roles following the groups claim, the second factor after a single sign-on, and the pages while
it is off. The whole flow against a real provider is tests/browser/test_browser_sso.py."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from django.urls import reverse

from security import oidc
from security.models import OIDCSubject, SecurityEvent
from tests.test_production_settings import GOOD_KEY, manage
from tests.test_settings_parsing import load  # noqa: F401  (fixture: the settings package loaded afresh)
from tests.two_factor_support import enrol, make_proof_old

pytestmark = pytest.mark.unit

ISSUER = "https://login.lab.example.org/realms/lab"
CLIENT = "alchemiscale-portal"
OIDC_ENV = {
    "PORTAL_OIDC_ISSUER": ISSUER,
    "PORTAL_OIDC_CLIENT_ID": CLIENT,
    "PORTAL_OIDC_CLIENT_SECRET": "s3cret",
}


def token(**claims):
    return {"iss": ISSUER, "aud": CLIENT, "sub": "1234", **claims}


@pytest.fixture
def sso_on(settings):
    settings.OIDC_ENABLED = True
    settings.OIDC_ISSUER = ISSUER
    settings.OIDC_RP_CLIENT_ID = CLIENT
    settings.OIDC_ROLE_MAP = {"lab-admins": ["restorer"], "lab-ops": ["operator"], "lab-ids": ["identity manager"]}
    return settings


# ---- settings ------------------------------------------------------------------------------------------------
def test_settings_off_by_default_and_from_the_environment(load, tmp_path):
    assert load().OIDC_ENABLED is False
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    s = load(
        **{**OIDC_ENV, "PORTAL_OIDC_CLIENT_SECRET": None},
        PORTAL_OIDC_CLIENT_SECRET_FILE=str(secret),
        PORTAL_OIDC_ROLE_MAP="lab-admins=restorer, lab-admins=identity manager,lab-ops=operator",
        PORTAL_OIDC_SCOPES="openid email profile groups",
        PORTAL_OIDC_TRUST_MFA="yes",
    )
    assert s.OIDC_ENABLED and s.OIDC_RP_CLIENT_SECRET == "from-a-file"
    assert s.OIDC_DISCOVERY_URL == ISSUER + "/.well-known/openid-configuration"
    assert s.OIDC_ROLE_MAP == {"lab-admins": ["restorer", "identity manager"], "lab-ops": ["operator"]}
    assert s.OIDC_RP_SCOPES == "openid email profile groups" and s.OIDC_TRUST_MFA is True


@pytest.mark.parametrize(
    "env, named",
    [
        ({"PORTAL_OIDC_CLIENT_SECRET": None}, "PORTAL_OIDC_CLIENT_SECRET"),
        ({"PORTAL_OIDC_ROLE_MAP": "lab-admins"}, "PORTAL_OIDC_ROLE_MAP"),
        ({"PORTAL_OIDC_SCOPES": "email"}, "PORTAL_OIDC_SCOPES"),
        ({"PORTAL_OIDC_ISSUER": "ftp://login.example.org"}, "PORTAL_OIDC_ISSUER"),
    ],
)
def test_bad_settings_are_named(load, env, named):
    with pytest.raises(ImproperlyConfigured, match=named):
        load(**{**OIDC_ENV, **env})


def test_production_wants_https_and_passes_the_deploy_check():
    env = {**OIDC_ENV, "PORTAL_SECRET_KEY": GOOD_KEY, "PORTAL_OIDC_ROLE_MAP": "lab-admins=restorer"}
    proc = manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = manage("check", **{**env, "PORTAL_OIDC_ISSUER": "http://login.lab.example.org"})
    assert proc.returncode != 0 and "PORTAL_OIDC_ISSUER must be an https:// URL in production" in proc.stderr


def test_a_role_map_naming_no_portal_role_is_an_error(sso_on):
    assert oidc.role_map_errors(None) == []
    sso_on.OIDC_ROLE_MAP = {"lab-admins": ["restorers"]}
    (error,) = oidc.role_map_errors(None)
    assert error.id == "portal_security.E101" and "'restorers'" in error.msg


# ---- the token -----------------------------------------------------------------------------------------------
def test_token_from_this_issuer_for_this_client_passes():
    oidc.check_id_token(token(), ISSUER, CLIENT)
    oidc.check_id_token(token(iss=ISSUER + "/", aud=[CLIENT, "x"], azp=CLIENT), ISSUER, CLIENT)


@pytest.mark.parametrize(
    "claims, words",
    [
        ({"iss": "https://evil.example.org/realms/lab"}, "issued by"),
        ({"iss": ISSUER + "-other"}, "issued by"),
        ({"aud": "another-client"}, "meant for"),
        ({"aud": ["another-client", CLIENT]}, "another authorised party"),
        ({"sub": ""}, "no subject"),
    ],
)
def test_token_from_elsewhere_is_refused(claims, words):
    with pytest.raises(oidc.Refused, match=words):
        oidc.check_id_token(token(**claims), ISSUER, CLIENT)


def test_userinfo_about_someone_else_is_refused():
    assert oidc.merged_claims(token(), {"sub": "1234", "groups": ["g"]})["groups"] == ["g"]
    with pytest.raises(oidc.Refused, match="another subject"):
        oidc.merged_claims(token(), {"sub": "9999"})


@pytest.mark.parametrize("verified", [False, "true", None])
def test_unverified_email_is_refused(verified):
    claims = token(email="ada@lab.example.org")
    if verified is not None:
        claims["email_verified"] = verified
    with pytest.raises(oidc.Refused, match="verified"):
        oidc.check_email(claims)
    assert oidc.check_email(token(email="ada@lab.example.org", email_verified=True)) == "ada@lab.example.org"
    assert oidc.check_email(token()) == ""


def test_multi_factor_from_amr_or_acr():
    assert oidc.provider_did_mfa(token(amr=["pwd", "mfa"]), ["mfa"], [])
    assert not oidc.provider_did_mfa(token(amr=["pwd"]), ["mfa"], [])
    assert not oidc.provider_did_mfa(token(), ["mfa"], [])
    assert oidc.provider_did_mfa(token(acr="gold"), ["mfa"], ["gold"])


# ---- accounts and roles ------------------------------------------------------------------------------------
def claims(**extra):
    return token(**{"preferred_username": "ada", "email": "ada@lab.example.org", "email_verified": True, **extra})


def roles(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


@pytest.mark.django_db
def test_first_sign_in_makes_a_staff_account_linked_to_the_subject(sso_on, django_user_model):
    # A local account with the same name and e-mail is never taken over.
    django_user_model.objects.create_user("ada", "ada@lab.example.org", "pw", is_staff=True)
    django_user_model.objects.create_user("sso-ada", "someone@else.org", "pw")
    user = oidc.sign_in(claims(groups=["lab-admins", "lab-ids", "unmapped"]), "127.0.0.1")
    assert user.username == "sso-ada-2" and user.is_staff and not user.is_superuser
    assert not user.has_usable_password() and user.email == "ada@lab.example.org"
    assert roles(user) == {"restorer", "identity manager"}
    assert user.portal_sign_in.created and not user.portal_sign_in.mfa
    assert OIDCSubject.objects.get(user=user).subject == "1234"
    granted = SecurityEvent.objects.filter(kind="role-granted", username=user.username)
    assert sorted(granted.values_list("note", flat=True)) == ["identity manager", "restorer"]

    # Found again by (issuer, sub), whatever the e-mail says now; another issuer's sub 1234 is someone else.
    again = oidc.sign_in(claims(email="ada.new@lab.example.org", groups=["lab-admins"]), None)
    assert again.pk == user.pk and again.email == "ada.new@lab.example.org" and not again.portal_sign_in.created
    sso_on.OIDC_ISSUER = "https://other.example.org"
    assert oidc.sign_in(claims(groups=["lab-ops"]), None).pk != user.pk


@pytest.mark.django_db
def test_roles_follow_the_groups_and_hand_given_ones_stay(sso_on):
    user = oidc.sign_in(claims(groups=["lab-admins"]), None)
    Group.objects.get_or_create(name="auditors")
    user.groups.add(Group.objects.get(name="auditors"))  # given by staff, not managed by the map
    user = oidc.sign_in(claims(groups=["lab-ops"]), None)
    assert roles(user) == {"operator", "auditors"}
    assert user.portal_sign_in.granted == {"operator"} and user.portal_sign_in.removed == {"restorer"}
    assert SecurityEvent.objects.filter(kind="role-removed", note="restorer").count() == 1

    # No mapped group left: the roles are taken away for good, and the sign-in refused.
    with pytest.raises(oidc.Refused, match="no longer give you a role"):
        oidc.sign_in(claims(groups=["unmapped"]), None)
    assert roles(user) == {"auditors"}


@pytest.mark.django_db
def test_no_account_for_a_person_without_a_role_or_with_an_unverified_email(sso_on, django_user_model):
    with pytest.raises(oidc.Refused, match="no role"):
        oidc.sign_in(claims(groups=["unmapped"]), None)
    with pytest.raises(oidc.Refused, match="verified"):
        oidc.sign_in(claims(groups=["lab-admins"], email_verified=False), None)
    assert not django_user_model.objects.exists() and not OIDCSubject.objects.exists()


# ---- the second factor after a single sign-on --------------------------------------------------------------
def sso_session(client, user, mfa: bool) -> None:
    client.force_login(user)
    session = client.session
    session[oidc.SESSION_KEY] = {"mfa": mfa}
    session.save()


@pytest.mark.django_db
def test_the_portal_second_factor_unless_trusted_provider_mfa(sso_on, client):
    sso_on.REQUIRE_2FA = False  # even so: a single sign-on without trusted multi-factor needs the portal's
    user = oidc.sign_in(claims(groups=["lab-ops"]), None)
    sso_session(client, user, mfa=False)
    assert client.get("/admin/").url.startswith(reverse("two-factor-enrol"))
    sso_session(client, user, mfa=True)  # the provider did multi-factor, but the portal does not trust it
    assert client.get("/admin/").url.startswith(reverse("two-factor-enrol"))
    sso_on.OIDC_TRUST_MFA = True
    assert client.get("/admin/auth/group/").status_code == 403  # let through; an operator may not see groups
    enrol(user)
    sso_session(client, user, mfa=False)  # enrolled, no provider multi-factor: the code page
    assert client.get("/admin/").url.startswith(reverse("two-factor-verify"))
    sso_on.OIDC_PROVIDER_NAME = "Lab login"
    page = client.get(reverse("two-factor-verify")).content.decode()
    assert "</strong> through Lab login. Enter the code" in page and "with the password" not in page


# ---- the pages -----------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_pages_while_single_sign_on_is_off_and_on(client, settings, sso_on):
    sso_on.OIDC_ENABLED = False
    assert client.get(reverse("sso-start")).status_code == 404
    assert client.get(reverse("sso-callback") + "?code=x&state=y").status_code == 404
    assert b"sso-button" not in client.get(reverse("admin:login")).content
    sso_on.OIDC_ENABLED = True
    sso_on.OIDC_PROVIDER_NAME = "Lab login"
    page = client.get(reverse("admin:login") + "?next=/admin/operations/backup/").content.decode()
    assert page.index('id="sso-button"') < page.index('id="id_username"')
    assert "Sign in with Lab login" in page and "next=/admin/operations/backup/" in page

    # A callback no sign-in of this browser started: refused, recorded, nothing asked of the provider.
    response = client.get(reverse("sso-callback") + "?code=x&state=y")
    assert response.url == reverse("admin:login")
    assert SecurityEvent.objects.get(kind="sso-refused").note.startswith("this sign-in answer belongs to no sign-in")


@pytest.mark.django_db
def test_a_password_login_never_reaches_the_provider(sso_on):
    request = RequestFactory().post("/admin/login/?code=x&state=y")
    backend = oidc.SubjectBackend()
    assert backend.authenticate(request, username="ada", password="pw") is None
    assert backend.authenticate(request, nonce=None, password="pw") is None
    assert not hasattr(request, oidc.REFUSAL_ATTR)  # it never tried: no provider asked, nothing refused


@pytest.mark.django_db
def test_a_refused_sign_in_is_not_counted_as_a_wrong_password(sso_on, client):
    request = RequestFactory().get(reverse("sso-callback"))  # no code: the backend gives no user
    assert authenticate(request=request, nonce="n", code_verifier=None) is None
    assert authenticate(request=request, username="ada", password="wrong") is None
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["ada"]


@pytest.mark.django_db
def test_step_up_offers_signing_in_again_to_linked_accounts_only(sso_on, client, bob):
    user = oidc.sign_in(claims(groups=["lab-ops"]), None)
    sso_on.OIDC_TRUST_MFA = True
    sso_session(client, user, mfa=True)
    make_proof_old(client)
    page = client.get(reverse("step-up"), follow=True).content.decode()
    assert 'id="sso-button"' in page and "again=1" in page
    client.force_login(bob)  # a local account: the password, no button
    make_proof_old(client)
    assert 'id="sso-button"' not in client.get(reverse("step-up")).content.decode()


@pytest.mark.django_db
def test_log_out_goes_on_to_the_provider_or_offers_it(sso_on, client):
    """A person who signed in at the provider is sent on to its end-session endpoint with the ID token as the hint
    and the login page to come back to, and the pages' form-action allows the provider's origin; an endpoint on
    another origin is offered as a link; with PORTAL_OIDC_LOGOUT_AT_PROVIDER off, or for a password login, only the
    portal's session ends."""
    from django.core.cache import cache

    sso_on.OIDC_TRUST_MFA = True
    sso_on.OIDC_DISCOVERY_URL = ISSUER + "/.well-known/openid-configuration"
    user = oidc.sign_in(claims(groups=["lab-ops"]), None)

    def signed_in(end_session: str | None) -> None:
        cache.set(
            "portal-oidc-discovery:" + sso_on.OIDC_DISCOVERY_URL,
            {"issuer": ISSUER, "end_session_endpoint": end_session},
        )
        sso_session(client, user, mfa=True)
        session = client.session
        session["oidc_id_token"] = "the.id.token"
        session.save()

    signed_in(ISSUER + "/protocol/openid-connect/logout")
    page = client.get(reverse("admin:index"))
    assert "form-action 'self' https://login.lab.example.org;" in page["Content-Security-Policy"]
    answer = client.post(reverse("admin:logout"))
    assert answer.status_code == 302 and answer.url.startswith(ISSUER + "/protocol/openid-connect/logout?")
    assert "id_token_hint=the.id.token" in answer.url and "client_id=alchemiscale-portal" in answer.url
    assert "post_logout_redirect_uri=http%3A%2F%2Ftestserver%2Fadmin%2Flogin%2F" in answer.url
    assert "_auth_user_id" not in client.session

    signed_in("https://sso-logout.example.org/end")
    answer = client.post(reverse("admin:logout"))
    assert answer.status_code == 200 and "_auth_user_id" not in client.session
    assert 'href="https://sso-logout.example.org/end?id_token_hint=the.id.token' in answer.content.decode()

    sso_on.OIDC_LOGOUT_AT_PROVIDER = False
    signed_in(ISSUER + "/protocol/openid-connect/logout")
    assert "form-action 'self';" in client.get(reverse("admin:index"))["Content-Security-Policy"]
    answer = client.post(reverse("admin:logout"))
    assert answer.status_code == 200 and b"You are logged out of the portal." in answer.content
    assert b"provider-logout" not in answer.content
