"""Every admin page addressed by an object id answers an odd id like a missing object, never with a 500
(docs/reliability.md, security 2)."""

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import NoReverseMatch, reverse

ODD_IDS = ["abc", "1.5", "%00", "-1", "99999999999999999999999", "%27%22", "%E2%80%A8"]


def _pages():
    for model in admin.site._registry:
        opts = model._meta
        for page in ("change", "history", "delete"):
            try:
                url = reverse(f"admin:{opts.app_label}_{opts.model_name}_{page}", args=["ODDID"])
            except NoReverseMatch:
                continue
            yield pytest.param(url, id=f"{opts.app_label}.{opts.model_name}.{page}")


@pytest.mark.django_db
@pytest.mark.parametrize("url", list(_pages()))
def test_odd_ids_are_not_server_errors(alice, url):
    """A missing-object answer: Django's redirect with "doesn't exist", a filtered list, a 404 or a 403 (pages
    of read-only records); never a 500."""
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    for odd in ODD_IDS:
        response = client.get(url.replace("ODDID", odd))
        assert response.status_code in (302, 403, 404), f"{url.replace('ODDID', odd)}: {response.status_code}"
        if response.status_code == 302 and response.url == reverse("admin:index"):
            assert b"exist" in client.get(response.url).content


@pytest.mark.django_db
def test_operation_run_page_with_odd_id_answers_like_other_change_pages(alice):
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    for odd in ("abc", "1.5", "%00", "424242"):
        response = client.get(f"/admin/operations/operationrun/{odd}/change/", follow=True)
        assert response.redirect_chain[0] == (reverse("admin:index"), 302), odd
        assert (
            b"doesn\xe2\x80\x99t exist" in response.content
            or b"doesn&#x27;t exist" in response.content
            or b"doesn't exist" in response.content
        )
