"""The admin's ModelAdmin instances are shared by every request and thread: one that kept the request's user and
CSRF token on itself (the retention policy's page did) leaked one person's CSRF secret into another's page when two
staff opened it at once (14 of 15 tries in a probe). After each admin page of the portal's own records is rendered,
its ModelAdmin holds no attribute it did not hold before."""

from __future__ import annotations

import pytest
from django.contrib import admin

from operations.models import AlertSettings, RetentionPolicy

pytestmark = [pytest.mark.unit, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _target(fake_target, settings):
    """The pages read the operations target: the unit tier's stand-in (tests/fake_target.py)."""
    settings.OPERATIONS_TARGET = fake_target.name


LABELS = {"operations", "auth", "security"}


def test_rendering_an_admin_page_leaves_nothing_on_the_shared_admin(admin_client):
    RetentionPolicy.current(), AlertSettings.current()
    checked = 0
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in LABELS:
            continue
        before = set(vars(model_admin))
        info = model._meta.app_label, model._meta.model_name
        pages = [f"/admin/{info[0]}/{info[1]}/"]
        first = model._default_manager.first()
        if first is not None:
            pages.append(f"/admin/{info[0]}/{info[1]}/{first.pk}/change/")
        for page in pages:
            response = admin_client.get(page, follow=True)
            assert response.status_code in (200, 403), (page, response.status_code)
        assert set(vars(model_admin)) == before, f"{model_admin} kept {set(vars(model_admin)) - before}"
        checked += 1
    assert checked >= 6
