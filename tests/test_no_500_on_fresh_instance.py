"""A fresh instance (no run, no backup, an empty graph) must not answer any admin page with a 500: every registered
model's list and add pages, every app's index, every admin page without parameters, and the portal's own pages.

The URLs are found, not listed: a model or page added later is covered without touching this test.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import URLPattern, URLResolver, reverse

from alchemiscale_portal import urls as portal_urls
from operations.models import Backup, OperationRun

pytestmark = pytest.mark.django_db


def _parameterless(patterns, namespace: str = "") -> list[str]:
    """Names (with their namespace) of the patterns below ``patterns`` that take no argument."""
    names = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            names += _parameterless(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name and not entry.pattern.regex.groupindex:
            names.append(namespace + entry.name)
    return names


def admin_urls() -> list[str]:
    found = {reverse("admin:index")}
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        found.add(reverse("admin:%s_%s_changelist" % info))
        found.add(reverse("admin:%s_%s_add" % info))
        found.add(reverse("admin:app_list", kwargs={"app_label": info[0]}))
    # The pages admins add themselves (back up now, prune, upgrade, ...) and the portal's own (status, dashboard,
    # metrics, scopes, the second-factor pages).
    for name in _parameterless(portal_urls.urlpatterns):
        found.add(reverse(name))
    return sorted(found)


def test_no_admin_page_answers_500_on_a_fresh_instance(alice_client):
    assert not OperationRun.objects.exists() and not Backup.objects.exists()
    urls = admin_urls()
    assert len(urls) > 40 and "/admin/dashboard/" in urls and "/admin/status/" in urls
    assert {"/admin/compute/networks/", "/admin/compute/throughput/"} <= set(urls)
    alice_client.raise_request_exception = False  # a 500 is counted, not raised, so one run names every bad page
    answers = {url: alice_client.get(url).status_code for url in urls}
    assert {url: code for url, code in answers.items() if code >= 500} == {}
    assert answers["/admin/"] == 200 and answers["/admin/dashboard/"] == 200
    assert answers["/admin/compute/networks/"] == 200 and answers["/admin/compute/throughput/"] == 200
