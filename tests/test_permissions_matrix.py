"""Who may see and do what: every admin page, action and custom view, for every role.

Roles (security/roles.py): anonymous, a logged-in user who is not staff, staff without permissions,
identity managers, operators, restorers, superusers. Allowed means the page answers (not a redirect to the login page,
not 403); everything else must be exactly a redirect to the login page or 403, and refused POSTs change nothing.
"""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from compute import queries as compute_queries
from identities import services
from identities.audit import Actor
from identities.nodes import KINDS
from operations.models import OperationRun
from operations.upgrades.neo4j_data import Neo4j44To5Procedure
from security import roles
from tests import compute_support
from tests.backup_support import catalog_row

from .identity_support import graph_fingerprint
from .passkey_support import passkey_row

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

ROLE_NAMES = ["anonymous", "member", "staff", "identity_manager", "operator", "restorer", "superuser"]
STAFF = {"staff", "identity_manager", "operator", "restorer", "superuser"}
IDENTITY = {"identity_manager", "superuser"}
OPERATIONS = {"operator", "restorer", "superuser"}
DESTRUCTIVE = {"restorer", "superuser"}
SUPERUSER = {"superuser"}


def pages(run_id: int, backup_id: int) -> dict[str, set[str]]:
    """GET endpoints and the roles allowed to open them."""
    admin = "admin:"
    table = {
        reverse(admin + "index"): STAFF,
        reverse("system-status"): STAFF,
        reverse("identity-scopes"): IDENTITY,
        reverse(admin + "identities_auditentry_changelist"): IDENTITY,
        reverse(admin + "operations_operationrun_changelist"): OPERATIONS,
        reverse(admin + "operations_operationrun_change", args=[run_id]): OPERATIONS,
        reverse(admin + "operations_operationrun_progress", args=[run_id]): OPERATIONS,
        reverse(admin + "operations_backup_now"): OPERATIONS,
        reverse(admin + "operations_backup_changelist"): OPERATIONS,
        reverse(admin + "operations_backup_restore", args=[backup_id]): DESTRUCTIVE,
        reverse(admin + "operations_upgrade"): DESTRUCTIVE,
        reverse(admin + "operations_appliedmigration_changelist"): OPERATIONS,
        reverse(admin + "auth_user_changelist"): SUPERUSER,
        reverse(admin + "auth_group_changelist"): SUPERUSER,
        reverse(admin + "axes_accessattempt_changelist"): SUPERUSER,
        reverse("dashboard"): IDENTITY | OPERATIONS,
        # the fleet (compute/): compute.view_fleet, which operators hold
        reverse("compute-services"): OPERATIONS,
        reverse("compute-service", args=["matrix-" + "0" * 32]): OPERATIONS,
        reverse("compute-managers"): OPERATIONS,
        reverse("compute-tasks"): OPERATIONS,
        reverse("compute-task-list") + "?org=acme&campaign=c&project=p&status=waiting": OPERATIONS,
        reverse("compute-anomalies"): OPERATIONS,
        reverse("compute-networks"): OPERATIONS,
        reverse("compute-throughput"): OPERATIONS,
        reverse("compute-expire-stale"): OPERATIONS,
        reverse(admin + "compute_fleetauditentry_changelist"): OPERATIONS,
        # staff accounts (security/): the second step, enrolment and step-up are every staff member's own pages
        reverse("two-factor-verify"): STAFF,
        reverse("two-factor-enrol"): STAFF,
        reverse("step-up"): STAFF,
        reverse("passkeys"): STAFF,
        reverse(admin + "security_securityevent_changelist"): SUPERUSER,
        reverse(admin + "security_oidcsubject_changelist"): SUPERUSER,
    }
    for kind in ("useridentity", "computeidentity"):
        table[reverse(f"{admin}identities_{kind}_changelist")] = IDENTITY
        table[reverse(f"{admin}identities_{kind}_add")] = IDENTITY
        table[reverse(f"{admin}identities_{kind}_export")] = IDENTITY
        table[reverse(f"{admin}identities_{kind}_import")] = IDENTITY
        for view in ("change", "history", "delete", "rotate_key", "disable", "enable"):
            table[reverse(f"{admin}identities_{kind}_{view}", args=["matrix-id"])] = IDENTITY
    return table


@pytest.fixture
def world(django_user_model):
    services.add_identity(KINDS["user"], "matrix-id", "matrix-key", Actor.command_line(), scopes=["acme-c-p"])
    services.add_identity(KINDS["compute"], "matrix-id", "matrix-key", Actor.command_line())
    run = OperationRun.objects.create(kind="backup", target="local", status="succeeded", requested_by_label="cli:x")
    # Cancelling a run needs the right to request its kind: a restore only restorers may cancel.
    pending = OperationRun.objects.create(kind="restore", target="matrix", requested_by_label="cli:x")
    backup = catalog_row()
    # a stale registration and a manager in ERROR: what the fleet's two actions would change
    an_hour_ago = compute_queries.now() - datetime.timedelta(hours=1)
    compute_support.register_service("matrix-" + "0" * 32, heartbeat=an_hour_ago)
    manager = compute_support.register_manager(
        "matrix-mgr", last_status_update=an_hour_ago, status="ERROR", detail="x", saturation=None
    )
    users = {}
    for name in ROLE_NAMES[1:]:
        user = django_user_model.objects.create_user(
            name, f"{name}@example.org", "pw-" + name, is_staff=name != "member", is_superuser=name == "superuser"
        )
        group = {
            "identity_manager": roles.IDENTITY_MANAGER,
            "operator": roles.OPERATOR,
            "restorer": roles.RESTORER,
        }.get(name)
        if group:
            user.groups.add(Group.objects.get(name=group))
        users[name] = user
    # someone with an authenticator, whose devices only a superuser may reset
    enrolled = django_user_model.objects.create_user("enrolled", "enrolled@example.org", "pw-enrolled", is_staff=True)
    TOTPDevice.objects.create(user=enrolled, name="authenticator", confirmed=True)
    passkey = passkey_row(enrolled)
    return {
        "run": run,
        "pending": pending,
        "backup": backup,
        "users": users,
        "enrolled": enrolled,
        "passkey": passkey,
        "manager": manager,
    }


def client_as(client, world, role):
    client.logout()
    if role != "anonymous":
        client.force_login(world["users"][role])
    return client


def refused(response) -> bool:
    if response.status_code == 403:
        return True
    return response.status_code == 302 and response.url.startswith(reverse("admin:login"))


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_pages(client, world, role):
    wrong = []
    for url, allowed in pages(world["run"].pk, world["backup"].pk).items():
        response = client_as(client, world, role).get(url)
        if role in allowed:
            if refused(response) or response.status_code >= 500:
                wrong.append(f"{url}: {response.status_code}, expected the page")
        elif not refused(response):
            wrong.append(f"{url}: {response.status_code}, expected login redirect or 403")
    assert wrong == [], f"{role}: " + "; ".join(wrong)


def _action(url, name, selected, **extra):
    return url, {"action": name, "index": "0", "_selected_action": selected, "confirm": "yes", **extra}


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_refused_state_changes_change_nothing(client, world, role):
    users_url = reverse("admin:identities_useridentity_changelist")
    backups_url = reverse("admin:operations_backup_changelist")
    posts = {
        # (url, data): roles allowed
        (reverse("admin:identities_useridentity_delete", args=["matrix-id"]), "confirm=yes"): IDENTITY,
        (reverse("admin:identities_useridentity_rotate_key", args=["matrix-id"]), "confirm=yes"): IDENTITY,
        (reverse("admin:identities_useridentity_disable", args=["matrix-id"]), "confirm=yes"): IDENTITY,
        (reverse("admin:identities_useridentity_add"), "add"): IDENTITY,
        (reverse("admin:operations_backup_now"), "backup"): OPERATIONS,
        (reverse("admin:operations_backup_restore", args=[world["backup"].pk]), "restore"): DESTRUCTIVE,
        (reverse("admin:operations_upgrade"), "upgrade"): DESTRUCTIVE,
        (reverse("admin:operations_operationrun_cancel", args=[world["pending"].pk]), "cancel"): DESTRUCTIVE,
        (reverse("compute-expire-stale"), "expire"): OPERATIONS,
        (reverse("compute-clear-manager", args=[world["manager"]]), "confirm=yes"): OPERATIONS,
        # staff may start enrolling a passkey of their own; a stranger's passkey nobody removes (below)
        (reverse("otp_webauthn:credential-registration-begin"), "backup"): STAFF,
        (reverse("passkeys"), "remove-passkey"): STAFF,
    }
    bodies = {
        "confirm=yes": {"confirm": "yes"},
        "add": {"identifier": "intruder", "key_choice": "enter", "key": "k", "scopes": ""},
        "backup": {},
        "restore": {"confirmation": "neo4j", "database": "neo4j"},
        "upgrade": {"migration": Neo4j44To5Procedure.migration_name, "confirmation": "neo4j"},
        "cancel": {},
        "expire": {"confirm": "yes", "identifier": ["matrix-" + "0" * 32]},
        "remove-passkey": {"action": "remove", "passkey": str(world["passkey"].pk)},
    }
    actions = [
        (_action(users_url, "delete_action", ["matrix-id"]), IDENTITY),
        (_action(users_url, "add_scope_action", ["matrix-id"], scope="evil-*-*"), IDENTITY),
        (_action(users_url, "rotate_key_action", ["matrix-id"]), IDENTITY),
        (_action(backups_url, "restore_selected", [str(world["backup"].pk)]), DESTRUCTIVE),
        (_action(reverse("admin:auth_user_changelist"), "reset_two_factor", [str(world["enrolled"].pk)]), SUPERUSER),
        # Operators may use the action (for backups); that they cannot cancel a restore with it: test_run_cancel.
        (
            _action(reverse("admin:operations_operationrun_changelist"), "cancel_selected", [str(world["pending"].pk)]),
            OPERATIONS,
        ),
    ]
    requests = [((url, bodies[body]), allowed) for (url, body), allowed in posts.items()] + actions
    for (url, data), allowed in requests:
        if role in allowed:
            continue  # what allowed roles get is tested with each feature; here: the refusals
        graph, runs = graph_fingerprint(), OperationRun.objects.count()
        devices = TOTPDevice.objects.count() + WebAuthnCredential.objects.count()
        response = client_as(client, world, role).post(url, data)
        assert refused(response), f"{role} POST {url} {data.get('action', '')}: {response.status_code}"
        assert graph_fingerprint() == graph, f"{role} POST {url} changed the graph"
        assert OperationRun.objects.count() == runs, f"{role} POST {url} queued an operation"
        assert TOTPDevice.objects.count() + WebAuthnCredential.objects.count() == devices, (
            f"{role} POST {url} reset two-factor devices"
        )
        world["pending"].refresh_from_db()
        assert world["pending"].status == "pending", f"{role} POST {url} cancelled a restore"


def test_a_passkey_is_removed_by_its_owner_only(client, world):
    """Staff remove only passkeys of their own: another person's id changes nothing, whatever the role (one world
    for all roles: the page reads only the portal's database)."""
    for role in ROLE_NAMES:
        response = client_as(client, world, role).post(
            reverse("passkeys"), {"action": "remove", "passkey": str(world["passkey"].pk)}
        )
        assert response.status_code == 302, role
        assert WebAuthnCredential.objects.filter(pk=world["passkey"].pk).exists(), role


def test_csrf_is_enforced_on_state_changes(world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world["users"]["superuser"])
    graph, runs = graph_fingerprint(), OperationRun.objects.count()
    response = client.post(reverse("admin:identities_useridentity_delete", args=["matrix-id"]), {"confirm": "yes"})
    assert response.status_code == 403 and b"CSRF" in response.content
    response = client.post(reverse("admin:operations_backup_now"), {})
    assert response.status_code == 403
    assert graph_fingerprint() == graph and OperationRun.objects.count() == runs


@pytest.mark.parametrize(
    "required,device",
    [(False, "totp"), (False, "passkey"), (True, None)],
    ids=["2fa-optional", "passkey", "2fa-required"],
)
def test_without_the_second_factor_no_page_opens(client, world, settings, required, device):
    """A superuser who gave only the password: with an authenticator or a passkey enrolled, every page sends to the
    second step (the Passkeys page too); where 2FA is required, a superuser without one is sent to enrolment. Only
    those pages, the Passkeys page to enrol one instead (and logout) open."""
    settings.REQUIRE_2FA = required
    superuser = world["users"]["superuser"]
    if device == "totp":
        TOTPDevice.objects.create(user=superuser, name="authenticator", confirmed=True)
    elif device == "passkey":
        passkey_row(superuser)
    expected = reverse("two-factor-enrol" if required else "two-factor-verify")
    client.post(reverse("admin:login"), {"username": "superuser", "password": "pw-superuser"})
    if required:
        assert client.get(reverse("passkeys")).status_code == 200
    wrong = []
    for url in pages(world["run"].pk, world["backup"].pk):
        if url in (reverse("two-factor-verify"), reverse("two-factor-enrol")) or (
            required and url == reverse("passkeys")
        ):
            continue
        response = client.get(url)
        if not (response.status_code == 302 and response.url.startswith(expected)):
            wrong.append(f"{url}: {response.status_code} {response.get('Location', '')}")
    assert wrong == []
    assert client.get(expected).status_code == 200
