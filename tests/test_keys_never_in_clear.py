"""Keys are shown once to the person who made them and are nowhere else in clear.

Identities are created and re-keyed through every path (service functions, `manage.py identity`, the admin's add
form with an entered and a generated key, the rotate action and the identity page's rotate button); then the logs,
Django's whole database (audit log, admin history, sessions, operation runs), pages with errors, and every property
in the Neo4j store are searched for each key.
"""

import io
import logging
import re

import pytest
from django.core.management import call_command
from django.db import connection

from identities import services, store
from identities.audit import Actor
from identities.nodes import KINDS

from .identity_support import alchemiscale_verifies, stored

pytestmark = pytest.mark.django_db
USERS = "/admin/identities/useridentity/"
KEY_ON_PAGE = re.compile(r'class="identity-key">([^<]+)<')


def django_database_text() -> str:
    """Every row of every table of Django's database, as text."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # table names come from the database itself
            parts.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(parts)


def neo4j_text() -> str:
    return "\n".join(repr(row) for row in store.cypher("MATCH (n) RETURN labels(n), properties(n)"))


def test_no_key_in_clear_anywhere(alice_client, caplog):
    caplog.set_level(logging.DEBUG)
    actor = Actor.command_line()
    keys: dict[str, str] = {}

    # 1. service functions, entered and generated keys; rotation both ways
    keys["svc-entered"] = "svc-entered-key-" + "a1" * 8
    services.add_identity(KINDS["user"], "svc-one", keys["svc-entered"], actor)
    _, keys["svc-generated"] = services.add_identity(KINDS["user"], "svc-two", None, actor)
    keys["svc-rotated"] = services.rotate_key(KINDS["user"], "svc-one", None, actor)

    # 2. the command line
    keys["cli-entered"] = "cli-entered-key-" + "b2" * 8
    out = io.StringIO()
    call_command("identity", "add", "-t", "compute", "-i", "cli-one", "-k", keys["cli-entered"], stdout=out)
    out = io.StringIO()
    call_command("identity", "rotate-key", "-t", "compute", "-i", "cli-one", stdout=out)
    keys["cli-rotated"] = re.search(r"\b[0-9a-f]{64}\b", out.getvalue()).group(0)

    # 3. the admin: add with an entered key, add with a generated key, a failed add, both rotate paths
    keys["admin-entered"] = "admin-entered-key-" + "c3" * 8
    response = alice_client.post(
        USERS + "add/",
        {"identifier": "adm-one", "key_choice": "enter", "key": keys["admin-entered"], "scopes": "acme-c-p"},
    )
    assert response.status_code in (200, 302)
    response = alice_client.post(
        USERS + "add/", {"identifier": "adm-two", "key_choice": "generate", "scopes": ""}, follow=True
    )
    keys["admin-generated"] = KEY_ON_PAGE.search(response.content.decode()).group(1)
    failed_key = "failed-add-key-" + "d4" * 8
    error_page = alice_client.post(
        USERS + "add/",
        {"identifier": "bad'identifier", "key_choice": "enter", "key": failed_key, "scopes": "not a scope"},
    )
    assert error_page.status_code == 200 and "errornote" in error_page.content.decode()
    assert failed_key not in error_page.content.decode()
    response = alice_client.post(USERS + "adm-one/rotate-key/", {"confirm": "yes"})
    keys["admin-rotated-page"] = KEY_ON_PAGE.search(response.content.decode()).group(1)
    response = alice_client.post(
        USERS, {"action": "rotate_key_action", "index": "0", "_selected_action": ["adm-two"], "confirm": "yes"}
    )
    keys["admin-rotated-action"] = KEY_ON_PAGE.search(response.content.decode()).group(1)

    # The keys work the way alchemiscale checks them...
    assert alchemiscale_verifies(keys["svc-rotated"], stored("user", "svc-one")[1]["hashed_key"])
    assert alchemiscale_verifies(keys["svc-generated"], stored("user", "svc-two")[1]["hashed_key"])
    assert alchemiscale_verifies(keys["cli-rotated"], stored("compute", "cli-one")[1]["hashed_key"])
    assert alchemiscale_verifies(keys["admin-rotated-page"], stored("user", "adm-one")[1]["hashed_key"])
    assert alchemiscale_verifies(keys["admin-rotated-action"], stored("user", "adm-two")[1]["hashed_key"])

    # ...and are nowhere in clear.
    places = {
        "logs": "\n".join(r.getMessage() + repr(r.args) for r in caplog.records),
        "Django's database": django_database_text(),
        "the Neo4j store": neo4j_text(),
    }
    assert "svc-one" in places["Django's database"]  # the audit log is there and was searched
    for name, key in {**keys, "failed": failed_key}.items():
        for place, text in places.items():
            assert key not in text, f"the {name} key is in {place}"
