"""A login whose "next" is refused as unsafe lands on the admin's front page (docs/reliability.md, security 4)."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("unsafe", ["https://evil.example/", "//evil.example/admin/", "javascript:alert(1)"])
def test_login_with_unsafe_next_goes_to_admin_index(client, alice, unsafe):
    response = client.post(
        reverse("admin:login"), {"username": "alice", "password": "alice-password-1", "next": unsafe}
    )
    assert response.status_code == 302 and response.url == reverse("admin:index")
    assert client.get(response.url).status_code == 200
