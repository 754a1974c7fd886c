"""The admin's system status page: green when every component answers, red with the reason when not."""

import os
import re

from django.urls import reverse

from devtools.local_neo4j import Neo4jInstance


def _rows(html: str) -> dict[str, str]:
    return {name: state for state, name in re.findall(r'<tr class="check (green|red)" data-component="([^"]+)"', html)}


def test_login_page_and_login(client, alice):
    page = client.get(reverse("admin:login"))
    assert page.status_code == 200
    response = client.post(
        reverse("admin:login"), {"username": "alice", "password": "alice-password-1", "next": reverse("admin:index")}
    )
    assert response.status_code == 302 and response.url == reverse("admin:index")
    index = client.get(reverse("admin:index"))
    assert b"System status" in index.content


def test_status_requires_staff_login(client):
    response = client.get(reverse("system-status"))
    assert response.status_code == 302 and reverse("admin:login") in response.url


def test_everything_green(alice_client, celery_worker_process, settings, tmp_path):
    settings.BACKUP_DIR = tmp_path
    html = alice_client.get(reverse("system-status")).content.decode()
    assert _rows(html) == {
        "Neo4j": "green",
        "Redis": "green",
        "Celery workers": "green",
        "Backups directory": "green",
        "Operations target": "green",
        "Operation runs": "green",
        "Compute services": "green",
    }
    assert "Neo4j 5.26" in html and "nodes" in html


def test_workers_red_when_none_consumes_the_operations_queue(alice_client, celery_worker_process, settings):
    settings.OPERATIONS_QUEUE = "queue-nobody-consumes"
    html = alice_client.get(reverse("system-status")).content.decode()
    assert _rows(html)["Celery workers"] == "red"
    assert "but none consumes the operations queue &#x27;queue-nobody-consumes&#x27;" in html


def test_backups_dir_missing_is_red(alice_client, settings, tmp_path):
    settings.BACKUP_DIR = tmp_path / "absent"
    html = alice_client.get(reverse("system-status")).content.decode()
    assert _rows(html)["Backups directory"] == "red"
    assert "does not exist" in html


def test_neo4j_stopped_is_red_with_reason(alice_client):
    neo4j = Neo4jInstance.load(os.environ["PORTAL_NEO4J_HOME"])
    neo4j.stop()
    try:
        html = alice_client.get(reverse("system-status")).content.decode()
        assert _rows(html)["Neo4j"] == "red"
        assert "not reachable" in html
        assert _rows(html)["Operations target"] == "red" and "not running" in html
    finally:
        neo4j.start()
    html = alice_client.get(reverse("system-status")).content.decode()
    assert _rows(html)["Neo4j"] == "green" and _rows(html)["Operations target"] == "green"


def test_docker_target_without_its_container_is_red_with_reason(alice_client, settings):
    """With the Docker target configured and no Neo4j container of that compose project, the page says so."""
    settings.OPERATIONS_TARGET = "docker"
    settings.DOCKER_PROJECT = "portal-test-no-such-project"
    html = alice_client.get(reverse("system-status")).content.decode()
    assert _rows(html)["Operations target"] == "red"
    assert "no container of compose project" in html and "portal-test-no-such-project" in html
