"""Step-up before every change to staff accounts, groups, permissions and second factors in the user admin (issue
26), through Django's test client: with an expired proof nothing changes and the request goes to the step-up page;
with a fresh one each change goes through. Viewing the lists needs no step-up."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from security import proof

from .two_factor_support import enrol, make_proof_old

pytestmark = [pytest.mark.unit, pytest.mark.django_db]

STEP_UP = "/admin/step-up/"


@pytest.fixture
def staff_admin(client, alice, bob):
    """alice signed in (a superuser without a second factor: the password is her proof), bob a staff user with an
    enrolled authenticator and a group."""
    enrol(bob)
    group = Group.objects.create(name="operators-test")
    bob.groups.add(group)
    client.force_login(alice)
    return client, bob, group


def user_change_form(bob, **changes) -> dict:
    data = {
        "username": bob.username,
        "email": bob.email,
        "is_active": "on",
        "is_staff": "on",
        "date_joined_0": "2026-12-01",
        "date_joined_1": "12:00:00",
        "groups": [g.pk for g in bob.groups.all()],
    }
    data.update(changes)
    return data


def changes(bob, group) -> list[tuple[str, str, dict]]:
    """(what, url, POST data) for every kind of change the user admin offers."""
    users, groups = "admin:auth_user", "admin:auth_group"
    new_password = {"password1": "new-bob-pw-9071", "password2": "new-bob-pw-9071", "usable_password": "true"}
    perm = Permission.objects.get(codename="view_user")
    return [
        ("add a user", reverse(f"{users}_add"), {"username": "mallory", **new_password}),
        ("make bob a superuser", reverse(f"{users}_change", args=[bob.pk]), user_change_form(bob, is_superuser="on")),
        ("set bob's password", reverse(f"{users}_password_change", args=[bob.pk]), new_password),
        (
            "reset bob's two-factor devices",
            reverse(f"{users}_changelist"),
            {"action": "reset_two_factor", "_selected_action": [bob.pk], "index": 0},
        ),
        (
            "delete bob through the list action",
            reverse(f"{users}_changelist"),
            {"action": "delete_selected", "_selected_action": [bob.pk], "post": "yes"},
        ),
        ("delete bob", reverse(f"{users}_delete", args=[bob.pk]), {"post": "yes"}),
        ("add a group", reverse(f"{groups}_add"), {"name": "mallory-group", "permissions": [perm.pk]}),
        (
            "give the group a permission",
            reverse(f"{groups}_change", args=[group.pk]),
            {"name": group.name, "permissions": [perm.pk]},
        ),
        ("delete the group", reverse(f"{groups}_delete", args=[group.pk]), {"post": "yes"}),
    ]


def state(bob, group) -> dict:
    bob_now = type(bob).objects.filter(pk=bob.pk).first()
    group_now = Group.objects.filter(pk=group.pk).first()
    return {
        "users": sorted(type(bob).objects.values_list("username", flat=True)),
        "bob superuser": bool(bob_now and bob_now.is_superuser),
        "bob password": bob_now.password if bob_now else None,
        "bob devices": TOTPDevice.objects.filter(user=bob).count() + StaticDevice.objects.filter(user=bob).count(),
        "groups": sorted(Group.objects.values_list("name", flat=True)),
        "group permissions": sorted(group_now.permissions.values_list("codename", flat=True)) if group_now else None,
    }


def test_an_expired_proof_changes_no_staff_account_group_or_second_factor(staff_admin):
    client, bob, group = staff_admin
    before = state(bob, group)
    for what, url, data in changes(bob, group):
        make_proof_old(client)
        response = client.post(url, data)
        assert response.status_code == 302 and response.url == STEP_UP, f"{what}: {response.status_code}"
        assert state(bob, group) == before, what
        stash = str(client.session.get(proof.STASH_KEY))
        assert "new-bob-pw-9071" not in stash, f"{what}: a password kept in the session"
    # Pages that exist only to make a change ask before the form is filled in.
    for url in (reverse("admin:auth_user_add"), reverse("admin:auth_user_password_change", args=[bob.pk])):
        make_proof_old(client)
        response = client.get(url)
        assert response.status_code == 302 and response.url == STEP_UP, url
    # Viewing stays open.
    for url in (reverse("admin:auth_user_changelist"), reverse("admin:auth_group_changelist")):
        assert client.get(url).status_code == 200, url


def test_after_the_step_up_each_change_goes_through(staff_admin):
    client, bob, group = staff_admin
    make_proof_old(client)
    # The step-up with the password, then the kept POST is sent again with the Continue button.
    url = reverse("admin:auth_user_change", args=[bob.pk])
    assert client.post(url, user_change_form(bob, is_superuser="on")).url == STEP_UP
    page = client.post(STEP_UP, {"password": "alice-password-1"})
    assert page.status_code == 200 and b'id="step-up-continue"' in page.content
    assert client.post(url, user_change_form(bob, is_superuser="on")).status_code == 302
    bob.refresh_from_db()
    assert bob.is_superuser

    expected = {
        "add a user": lambda s: "mallory" in s["users"],
        "set bob's password": lambda s: s["bob password"] != before["bob password"],
        "reset bob's two-factor devices": lambda s: s["bob devices"] == 0,
        "give the group a permission": lambda s: s["group permissions"] == ["view_user"],
        "add a group": lambda s: "mallory-group" in s["groups"],
        "delete the group": lambda s: group.name not in s["groups"],
        "delete bob through the list action": lambda s: "bob" not in s["users"],
    }
    for what, url, data in changes(bob, group):
        if what not in expected:
            continue
        before = state(bob, group)
        client.post(url, data)
        assert expected[what](state(bob, group)), what


def test_staff_who_may_not_change_accounts_are_refused_not_asked_for_a_proof(client, bob):
    client.force_login(bob)
    make_proof_old(client)
    response = client.post(reverse("admin:auth_user_add"), {"username": "mallory"})
    assert response.status_code == 403
    assert not type(bob).objects.filter(username="mallory").exists()
