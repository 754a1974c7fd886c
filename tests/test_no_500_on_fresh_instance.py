"""A fresh instance (no run, no backup, an empty graph) must not answer any admin page with a 500: every registered
model's list and add pages, every app's index, every admin page without parameters, and the portal's own pages; nor
must an instance with data in it, on those pages and on every object's own page.

The URLs are found, not listed: a model or page added later is covered without touching this test.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib import admin
from django.urls import URLPattern, URLResolver, reverse
from django.utils import timezone

from alchemiscale_portal import urls as portal_urls
from identities.audit import record
from identities.models import AuditEntry
from identities.nodes import USER
from operations.models import Alert, Backup, OperationRun
from security.actors import Actor
from tests.glance_support import ended_run, finished_backup
from tests.identity_support import alchemiscale_add

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


def test_no_admin_page_answers_500_with_data_in_it(alice_client):
    """The same pages, and every object's own page and history, once there is something of each kind: identities
    (as alchemiscale writes them) with audit entries, backups with runs of every ending, an alert."""
    now = timezone.now()
    for n, (kind, status) in enumerate(
        [("backup", "succeeded"), ("restore", "failed"), ("verify", "errored"), ("backup", "interrupted")]
    ):
        ended_run(kind, status, now - dt.timedelta(hours=n + 1))
    finished_backup(now - dt.timedelta(hours=2), size=5 << 20, seconds=40, outage=6, n=120)
    Alert.objects.create(key="stale", kind=Alert.Kind.STALE, subject="no recent backup", message="none for 2 days")
    alchemiscale_add("user", "seeded-user", "k" * 32, ["acme-*-*"], email="ada@example.org")
    alchemiscale_add("compute", "seeded-compute", "k" * 32, ["acme-a-b"])
    record(Actor("staff", "alice"), AuditEntry.Action.ADD, USER, "seeded-user", None, {"scopes": ["acme-*-*"]})
    urls = set(admin_urls())
    for model in admin.site._registry:
        manager = getattr(model, "_default_manager", None)
        if manager is None or model._meta.app_label == "identities" and model is not AuditEntry:
            continue  # the identity nodes are Neo4j's: their pages by identifier below
        for obj in manager.all()[:2]:
            info = (model._meta.app_label, model._meta.model_name)
            urls.add(reverse("admin:%s_%s_change" % info, args=[obj.pk]))
            urls.add(reverse("admin:%s_%s_history" % info, args=[obj.pk]))
    for kind, identifier in (("useridentity", "seeded-user"), ("computeidentity", "seeded-compute")):
        urls.add(reverse(f"admin:identities_{kind}_change", args=[identifier]))
    alice_client.raise_request_exception = False
    answers = {url: alice_client.get(url).status_code for url in sorted(urls)}
    assert {url: code for url, code in answers.items() if code >= 500} == {}
    assert len(answers) > 80 and answers["/admin/"] == 200 and answers["/admin/dashboard/"] == 200


def test_settings_pages_label_their_fields_in_words(alice_client):
    """The settings staff edit say what each field means, not the field's name ("Min free mib", "Webhook url")."""
    labels = []
    for model in ("alertsettings", "retentionpolicy"):
        page = alice_client.get(reverse(f"admin:operations_{model}_changelist"), follow=True).content.decode()
        labels += re.findall(r"<label[^>]*>([^<]*?):?</label>", page)
    page = alice_client.get(reverse("admin:operations_backupschedule_add")).content.decode()
    labels += re.findall(r"<label[^>]*>([^<]*?):?</label>", page)
    assert {"Minimum free space (MiB)", "Webhook URL", "Keep safety backups at least (hours)"} <= set(labels)
    raw = {"Min free mib", "Webhook url", "Safety min age hours", "Stale after hours", "Offsite keep last"}
    assert raw & set(labels) == set()
