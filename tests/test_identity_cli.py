"""`manage.py identity ...` mirrors alchemiscale's CLI on the shared services; bad input exits non-zero, writes nothing."""

import io
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from identities.models import AuditEntry

from .identity_support import alchemiscale_add, alchemiscale_verifies, graph_fingerprint, stored

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("identity", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_add_with_key_and_scopes_then_list():
    out, _ = run(
        "add",
        "-t",
        "user",
        "-i",
        "cli-user",
        "-k",
        "cli-key",
        "-s",
        "org-c-p",
        "-s",
        "org-c-*",
        "--email",
        "c@example.org",
        "--full-name",
        "Cli User",
    )
    assert "added user identity cli-user" in out and "cli-key" not in out
    labels, props = stored("user", "cli-user")
    assert labels == {"CredentialedEntity", "CredentialedUserIdentity"}
    assert props["scopes"] == ["org-c-p", "org-c-*"] and props["full_name"] == "Cli User"
    assert alchemiscale_verifies("cli-key", props["hashed_key"])
    run("add", "-i", "another", "-k", "x")
    assert run("list")[0].split() == ["another", "cli-user"]
    assert run("list", "-t", "compute")[0] == ""
    entry = AuditEntry.objects.get(identifier="cli-user")
    assert entry.actor_kind == "cli" and entry.actor and entry.action == "add"


def test_add_compute_without_key_prints_the_generated_key_once():
    out, _ = run("add", "--identity-type", "compute", "--identifier", "worker-1")
    key = out.split("store it safely): ")[1].strip()
    assert len(key) == 64
    assert alchemiscale_verifies(key, stored("compute", "worker-1")[1]["hashed_key"])
    assert key not in str(list(AuditEntry.objects.values()))


def test_scope_subcommands():
    alchemiscale_add("compute", "w", "k", ["a-b-c"])
    run("add-scope", "-t", "compute", "-i", "w", "-s", "x-y-z", "-s", "a-b-c")
    assert run("list-scope", "-t", "compute", "-i", "w")[0].split() == ["a-b-c", "x-y-z"]
    out, err = run("remove-scope", "-t", "compute", "-i", "w", "-s", "a-b-c")
    assert "a-b-c" in out and "tokens already issued stay valid" in err
    assert stored("compute", "w")[1]["scopes"] == ["x-y-z"]


def test_rotate_disable_enable_remove():
    run("add", "-i", "u", "-k", "first", "-s", "a-b-c")
    out, err = run("rotate-key", "-i", "u")
    key = out.split("store it safely): ")[1].strip()
    assert alchemiscale_verifies(key, stored("user", "u")[1]["hashed_key"])
    assert stored("user", "u")[1]["scopes"] == ["a-b-c"] and "1800 s" in err
    out, err = run("disable", "-i", "u")
    assert "disabled" in out and "matches no key" in err
    assert not alchemiscale_verifies(key, stored("user", "u")[1]["hashed_key"])
    run("enable", "-i", "u")
    assert alchemiscale_verifies(key, stored("user", "u")[1]["hashed_key"])
    run("rotate-key", "-i", "u", "-k", "chosen")
    assert alchemiscale_verifies("chosen", stored("user", "u")[1]["hashed_key"])
    run("remove", "-i", "u")
    assert stored("user", "u") is None


@pytest.mark.parametrize(
    "args, message",
    [
        (["add", "-i", "x'}) DETACH DELETE n //", "-k", "k"], "invalid identifier"),
        (["add", "-i", "line\nbreak", "-k", "k"], "invalid identifier"),
        (["add", "-i", "ok", "-k", "k" * 4097], "4097 characters"),
        (["add", "-i", "ok", "-k", "nul\x00byte"], "NUL"),
        (["add", "-i", "ok", "-k", "k", "-s", "org-c-p", "-s", "org-*-p"], r"invalid scope 'org-\*-p'"),
        (["add", "-t", "compute", "-i", "ok", "--full-name", "X"], "user identities only"),
        (["add", "-i", "existing", "-k", "k"], "already exists"),
        (["remove", "-i", "missing"], "no user identity 'missing'"),
        (["add-scope", "-i", "missing", "-s", "a-b-c"], "no user identity"),
        (["add-scope", "-i", "existing", "-s", "a-b"], "invalid scope"),
        (["remove-scope", "-t", "compute", "-i", "existing", "-s", "a-b-c"], "no compute identity"),
        (["rotate-key", "-i", "missing"], "no user identity"),
        (["disable", "-i", "missing"], "no user identity"),
        (["enable", "-i", "missing"], "no user identity"),
        (["list-scope", "-i", "missing"], "no user identity"),
    ],
)
def test_bad_input_fails_clearly_and_changes_nothing(args, message):
    alchemiscale_add("user", "existing", "k", ["a-b-c"])
    before = graph_fingerprint()
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert graph_fingerprint() == before
    assert not AuditEntry.objects.exists()


def test_the_real_command_line_exits_non_zero(settings):
    proc = subprocess.run(
        [sys.executable, "manage.py", "identity", "add-scope", "-i", "nobody", "-s", "bad"],
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
    )
    assert proc.returncode != 0
    assert "invalid scope 'bad'" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "manage.py", "identity", "add", "-t", "robot", "-i", "x"],
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
    )
    assert proc.returncode != 0 and "invalid choice" in proc.stderr


def test_manage_py_prints_no_axes_banner(settings):
    """django-axes logs 'AXES: BEGIN ...' at every start unless AXES_VERBOSE is off."""
    proc = subprocess.run(
        [sys.executable, "manage.py", "identity", "list"], capture_output=True, text=True, cwd=settings.BASE_DIR
    )
    assert proc.returncode == 0, proc.stderr
    assert "AXES" not in proc.stdout + proc.stderr
