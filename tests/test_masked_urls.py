"""URLs are shown and logged without their credentials (docs/reliability.md, security 3)."""

import dataclasses

import pytest
from django.urls import reverse

from operations.targets import TargetError, get_target

SECRET = "url-secret-83e1"


def test_status_page_masks_credentials_in_urls(alice_client, settings):
    settings.NEO4J_URL = settings.NEO4J_URL.replace("bolt://", f"bolt://neo4j:{SECRET}@")
    # A password a Redis without one refuses: the red row's message carries the URL too.
    settings.REDIS_URL = settings.REDIS_URL.replace("redis://", f"redis://:{SECRET}@")
    html = alice_client.get(reverse("system-status")).content.decode()
    assert SECRET not in html
    assert "bolt://neo4j:********@" in html and "redis://:********@" in html


def test_target_errors_mask_credentials_in_urls():
    target = get_target("local")
    target.connection = dataclasses.replace(target.connection, url=f"bolt://neo4j:{SECRET}@127.0.0.1:9")
    with pytest.raises(TargetError) as failure:
        target.wait_for_bolt(timeout=0.5)
    assert SECRET not in str(failure.value) and "bolt://neo4j:********@127.0.0.1:9" in str(failure.value)
