"""Identities as CSV: export -> edit -> import round trips through the admin and the command line, checked in Neo4j."""

import base64
import csv
import datetime as dt
import io
import re

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from identities import services
from identities.audit import Actor
from identities.models import AuditEntry
from identities.nodes import KINDS

from .identity_support import alchemiscale_verifies, graph_fingerprint, stored

pytestmark = pytest.mark.django_db
USERS = "/admin/identities/useridentity/"
COMPUTES = "/admin/identities/computeidentity/"
ACTOR = Actor.command_line()
EXPIRY = dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=dt.UTC)


def seed() -> None:
    user = KINDS["user"]
    services.add_identity(
        user,
        "ann",
        "ann-key",
        ACTOR,
        scopes=["acme-c-p"],
        email="ann@lab.org",
        full_name="=HYPERLINK(\"http://evil\")",
        expires=EXPIRY,
    )
    services.add_identity(user, "ben", "ben-key", ACTOR, scopes=["acme-*-*", "beta-x-y"], email="ben@lab.org")
    services.add_identity(user, "cat", "cat-key", ACTOR, full_name="Cat Xu")
    services.disable_identity(user, "cat", ACTOR)
    services.add_identity(KINDS["compute"], "worker", "w-key", ACTOR, scopes=["acme-c-*"])


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def to_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def edit(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """What a person does in a spreadsheet: change an email and scopes, disable one, add a new identity."""
    by_id = {row["identifier"]: row for row in rows}
    by_id["ann"]["email"] = "ann@new.org"
    by_id["ben"]["scopes"] = "beta-x-y gamma-*-*"
    by_id["ben"]["disabled"] = "yes"
    by_id["cat"]["disabled"] = "no"  # a stale "enabled": an import never enables
    rows.append(
        {
            **by_id["cat"],
            "identifier": "dan",
            "full_name": "Dan New",
            "scopes": "acme-c-p",
            "disabled": "no",
            "email": "",
            "expires": "",
        }
    )
    return rows


def check_store_after_edit() -> None:
    ann, ben, cat, dan = (stored("user", i)[1] for i in ("ann", "ben", "cat", "dan"))
    assert ann["email"] == "ann@new.org" and ann["full_name"] == '=HYPERLINK("http://evil")'
    assert ann["expires"].to_native() == EXPIRY and ann["scopes"] == ["acme-c-p"]
    assert alchemiscale_verifies("ann-key", ann["hashed_key"])
    assert ben["scopes"] == ["beta-x-y", "gamma-*-*"] and ben["disabled"] is True
    assert not alchemiscale_verifies("ben-key", ben["hashed_key"])  # locked out, as Disable does
    assert cat["disabled"] is True and not alchemiscale_verifies("cat-key", cat["hashed_key"])
    assert dan["full_name"] == "Dan New" and dan["scopes"] == ["acme-c-p"] and "email" not in dan
    actions = set(AuditEntry.objects.filter(identifier__in=["ann", "ben", "dan"]).values_list("identifier", "action"))
    assert {("ann", "change"), ("ben", "set-scopes"), ("ben", "disable"), ("dan", "add")} <= actions
    assert not AuditEntry.objects.filter(identifier="cat", action="enable").exists()


# ---- the admin -------------------------------------------------------------------------------------------------


def test_admin_export_edit_import_round_trip(alice_client):
    seed()
    response = alice_client.get(USERS + "export/")
    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = parse(text)
    assert [r["identifier"] for r in rows] == ["ann", "ben", "cat"]
    assert rows[0]["full_name"] == "'=HYPERLINK(\"http://evil\")"  # neutralised for spreadsheets
    assert rows[0]["expires"] == EXPIRY.isoformat() and rows[2]["disabled"] == "yes"
    assert "$2b$" not in text and "key" not in text.split("\r\n", 1)[0]

    before = graph_fingerprint()
    upload = SimpleUploadedFile("users.csv", to_csv(edit(rows)), content_type="text/csv")
    preview = alice_client.post(USERS + "import/", {"file": upload})
    html = preview.content.decode()
    assert preview.status_code == 200 and "nothing is written until you confirm" in html
    actions = dict(re.findall(r'data-identifier="([^"]+)">\s*<td>\d+</td><td>[^<]*</td><td>(\w+)</td>', html))
    assert actions == {"ann": "update", "ben": "update", "cat": "unchanged", "dan": "create"}
    assert "an import never enables" in html
    assert graph_fingerprint() == before  # the preview wrote nothing

    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    digest = re.search(r'name="digest" value="([^"]+)"', html).group(1)
    done = alice_client.post(USERS + "import/", {"confirm": "1", "token": token, "digest": digest})
    page = done.content.decode()
    assert "no-store" in done["Cache-Control"]
    keys_url = re.search(r'href="data:text/csv;charset=utf-8;base64,([^"]+)"', page).group(1)
    keys = parse(base64.b64decode(keys_url).decode())
    assert [(k["identifier"], k["type"]) for k in keys] == [("dan", "user")]
    check_store_after_edit()
    assert alchemiscale_verifies(keys[0]["key"], stored("user", "dan")[1]["hashed_key"])
    assert keys[0]["key"] not in str(list(AuditEntry.objects.values()))
    # The same confirmation cannot be applied twice.
    again = alice_client.post(USERS + "import/", {"confirm": "1", "token": token, "digest": digest}, follow=True)
    assert "no longer waiting for confirmation" in again.content.decode()


def test_admin_export_honours_filters_and_the_selection_action(alice_client):
    seed()
    listing = alice_client.get(USERS, {"disabled": "no", "q": "lab.org"}).content.decode()
    assert 'id="export-all" href="export/?disabled=no&amp;q=lab.org"' in listing
    filtered = alice_client.get(USERS + "export/", {"disabled": "no", "q": "lab.org"})
    assert [r["identifier"] for r in parse(b"".join(filtered.streaming_content).decode())] == ["ann", "ben"]
    chosen = alice_client.post(USERS, {"action": "export_csv_action", "index": "0", "_selected_action": ["ben", "cat"]})
    assert [r["identifier"] for r in parse(b"".join(chosen.streaming_content).decode())] == ["ben", "cat"]
    computes = parse(b"".join(alice_client.get(COMPUTES + "export/").streaming_content).decode())
    assert computes == [
        {
            "identifier": "worker",
            "type": "compute",
            "email": "",
            "full_name": "",
            "scopes": "acme-c-*",
            "disabled": "no",
            "expires": "",
        }
    ]


def test_admin_confirm_refuses_a_plan_that_changed_since_the_preview(alice_client):
    seed()
    upload = SimpleUploadedFile("u.csv", b"identifier,email\nann,changed@lab.org\n")
    html = alice_client.post(USERS + "import/", {"file": upload}).content.decode()
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    digest = re.search(r'name="digest" value="([^"]+)"', html).group(1)
    services.update_details(KINDS["user"], "ann", ACTOR, email="meanwhile@lab.org")
    response = alice_client.post(USERS + "import/", {"confirm": "1", "token": token, "digest": digest})
    assert "changed since the preview" in response.content.decode()
    assert stored("user", "ann")[1]["email"] == "meanwhile@lab.org"


def test_admin_import_of_an_expiry_out_of_range_in_utc_is_a_row_error_and_writes_nothing(alice_client):
    seed()
    before = graph_fingerprint()
    data = b"identifier,expires\nann,9999-12-31T23:00:00-05:00\nnew-one,2030-01-01\nnew-two,9999-12-31T22:00-02:00\n"
    response = alice_client.post(USERS + "import/", {"file": SimpleUploadedFile("u.csv", data)})
    html = response.content.decode()
    assert response.status_code == 200
    errors = re.findall(r"beyond the year 9999 in UTC", html)
    assert len(errors) == 2 and "9999-12-31T23:00:00-05:00" in html
    assert 'name="confirm"' not in html  # a file with an error row cannot be confirmed
    assert graph_fingerprint() == before


def test_admin_import_rows_need_the_matching_rights(client, bob):
    seed()
    bob.user_permissions.add(*Permission.objects.filter(codename__in=["view_identity", "change_identity"]))
    client.force_login(bob)
    data = b"identifier,disabled,email\nann,yes,ann@lab.org\nnew-one,no,\nben,no,b2@lab.org\n"
    html = client.post(USERS + "import/", {"file": SimpleUploadedFile("u.csv", data)}).content.decode()
    assert "you may not disable user identities" in html and "you may not add user identities" in html
    assert 'name="confirm"' not in html
    client.force_login(bob.__class__.objects.create_user("carl", password="x", is_staff=True))
    assert client.get(USERS + "import/").status_code == 403
    assert client.get(USERS + "export/").status_code == 403


@pytest.mark.unit
def test_admin_upload_errors_are_shown_with_the_rule(alice_client):
    html = alice_client.post(
        USERS + "import/", {"file": SimpleUploadedFile("u.csv", "identifier\ncafé\n".encode("latin-1"))}
    ).content.decode()
    assert "not UTF-8" in html
    html = alice_client.post(
        USERS + "import/", {"file": SimpleUploadedFile("u.csv", b"identifier,hashed_key\nx,$2b$12$abc\n")}
    ).content.decode()
    assert "keys and hashes are never imported" in html


# ---- the command line ------------------------------------------------------------------------------------------


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("identity", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_cli_export_edit_import_round_trip(tmp_path):
    seed()
    exported = tmp_path / "users.csv"
    run("export", "-t", "user", "--output", str(exported))
    rows = parse(exported.read_text(encoding="utf-8"))
    assert [r["identifier"] for r in rows] == ["ann", "ben", "cat"]
    assert run("export", "-t", "compute")[0].splitlines()[1] == "worker,compute,,,acme-c-*,no,"
    edited = tmp_path / "edited.csv"
    edited.write_bytes(to_csv(edit(rows)))

    before = graph_fingerprint()
    out, _ = run("import", "-t", "user", str(edited))
    assert "preview only: nothing was written" in out and "create    dan" in out and "unchanged cat" in out
    assert graph_fingerprint() == before

    keys_file = tmp_path / "keys.csv"
    out, _ = run("import", "-t", "user", str(edited), "--confirm", "--keys", str(keys_file))
    assert "created 1, updated 2, failed 0" in out
    assert oct(keys_file.stat().st_mode & 0o777) == "0o600"
    keys = parse(keys_file.read_text())
    check_store_after_edit()
    assert alchemiscale_verifies(keys[0]["key"], stored("user", "dan")[1]["hashed_key"])
    assert AuditEntry.objects.filter(identifier="dan", actor_kind="cli").exists()
    # Importing the exported file again changes nothing.
    run("export", "-t", "user", "--output", str(exported))
    out, _ = run("import", "-t", "user", str(exported), "--confirm")
    assert "4 unchanged" in out and "created 0, updated 0" in out


def test_cli_import_prints_keys_when_no_keys_file(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("identifier,type,scopes\nw1,compute,a-b-c;a-b-d\n")
    out, _ = run("import", "-t", "compute", str(path), "--confirm")
    key = out.split("store them safely):\n")[1].splitlines()[1].split(",")[2]
    assert alchemiscale_verifies(key, stored("compute", "w1")[1]["hashed_key"])
    assert stored("compute", "w1")[1]["scopes"] == ["a-b-c", "a-b-d"]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"identifier,type\nx,compute\ny,\n", "this import is for user identities"),
        (b"identifier,scopes\nx,org-*-p\n", "invalid scope"),
        (b"identifier\nbad id\n", "invalid identifier"),
        (b"identifier,email\nx,not-an-email\n", "invalid email"),
        (b"identifier,expires\nx,31/12/2030\n", "invalid expiry"),
        (b"identifier,expires\nok,2030-01-01\nx,9999-12-31T23:00:00-05:00\n", "beyond the year 9999 in UTC"),
        (b"identifier,expires\nx,0001-01-01T01:00:00+05:00\n", "before the year 1 in UTC"),
        (b"identifier,disabled\nx,maybe\n", "write yes or no"),
        (b"name\nx\n", "unknown column"),
        (b"identifier,key\nx,k\n", "never imported"),
    ],
)
def test_cli_import_refuses_bad_rows_and_writes_nothing(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    before = graph_fingerprint()
    out = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("identity", "import", str(path), "--confirm", stdout=out, stderr=io.StringIO())
    assert message in out.getvalue() + str(failure.value)
    assert "nothing was written" in str(failure.value)
    assert graph_fingerprint() == before
