"""The scopes page lists granted scopes and scopes present in the data, and who reaches each, wildcards included."""

import re

import pytest
from django.contrib.auth.models import Permission

from identities import store

from .identity_support import alchemiscale_add

pytestmark = pytest.mark.django_db
URL = "/admin/identity-scopes/"


def rows(response) -> dict[str, str]:
    html = response.content.decode()
    return {
        m.group(1): m.group(2)
        for m in re.finditer(r'<tr class="scope-row" data-scope="([^"]+)">(.*?)</tr>', html, re.S)
    }


@pytest.fixture
def landscape():
    alchemiscale_add("user", "ann", "k", ["acme-c1-p1"])
    alchemiscale_add("user", "boss", "k", ["acme-*-*"])
    alchemiscale_add("user", "root", "k", ["*-*-*"])
    alchemiscale_add("compute", "w1", "k", ["acme-c1-*", "beta-x-y"])
    store.cypher(
        "UNWIND $rows AS r CREATE (n:AlchemicalNetwork:GufeTokenizable) SET n = r",
        {
            "rows": [
                {"_org": "acme", "_campaign": "c1", "_project": "p1", "_scoped_key": "k1-acme-c1-p1"},
                {"_org": "acme", "_campaign": "c2", "_project": "p7", "_scoped_key": "k2-acme-c2-p7"},
                {"_org": "acme", "_campaign": "c2", "_project": "p7", "_scoped_key": "k3-acme-c2-p7"},
                {"_org": "gamma", "_campaign": "g", "_project": "h", "_scoped_key": "k4-gamma-g-h"},
            ]
        },
    )


def test_every_granted_and_present_scope_with_who_reaches_it(alice_client, landscape):
    table = rows(alice_client.get(URL))
    assert set(table) == {"acme-c1-p1", "acme-*-*", "*-*-*", "acme-c1-*", "beta-x-y", "acme-c2-p7", "gamma-g-h"}
    # acme-c2-p7 is only in the data: reached through acme-*-* (boss) and *-*-* (root), not by ann or w1.
    c2 = table["acme-c2-p7"]
    assert 'data-via="acme-*-*"' in c2 and "boss" in c2 and 'data-via="*-*-*"' in c2 and "root" in c2
    assert "ann" not in c2 and "w1" not in c2
    assert "<td>2</td>" in c2  # two nodes carry it
    p1 = table["acme-c1-p1"]
    assert all(name in p1 for name in ("ann", "boss", "root", "w1"))
    assert 'data-kind="compute"' in p1
    gamma = table["gamma-g-h"]
    assert "root" in gamma and "boss" not in gamma
    # A wildcard row says what it covers in the data.
    assert "acme-c1-p1, acme-c2-p7" in table["acme-*-*"]
    assert "every campaign and project of org acme" in table["acme-*-*"]


def test_nobody_reaches_an_ungranted_scope(alice_client):
    store.cypher("CREATE (:Task {_org: 'lonely', _campaign: 'c', _project: 'p'})")
    assert "nobody" in rows(alice_client.get(URL))["lonely-c-p"]


def test_scopes_page_needs_the_view_right(client, bob, landscape):
    client.force_login(bob)
    assert client.get(URL).status_code == 403
    bob.user_permissions.add(Permission.objects.get(codename="view_identity"))
    assert client.get(URL).status_code == 200
