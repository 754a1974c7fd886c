"""The Neo4j upgrade path and the forward upgrades' plans (unit tier): which hop is next for a store's version, which
are applied, what the page and ``migrate-store --list`` show, and the steps and exact commands of
``neo4j-5.18-to-5.26`` and ``neo4j-5.26-to-2025`` on the stand-in target."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from django.core.management import call_command

from operations.models import AppliedMigration
from operations.runs.requests import plan
from operations.targets.local import java
from operations.upgrades import registry, versions
from operations.upgrades.neo4j_forward import Neo4j5To526Procedure, Neo4j526To2025Procedure

pytestmark = pytest.mark.unit

NAMES = ["neo4j-4.4-to-5", "neo4j-5.18-to-5.26", "neo4j-5.26-to-2025"]


@pytest.mark.parametrize(
    "version, lowest, below, inside",
    [
        ("5.18.1", "5", "5.26", True),
        ("5.25.1", "5", "5.26", True),
        ("5.26.0", "5", "5.26", False),
        ("4.4.44", "5", "5.26", False),
        ("5.26.12", "5.26", "2025", True),
        ("5.27.0", "5.26", "2025", True),
        ("2025.12.1", "5.26", "2025", False),
        ("4.4.44", "4.4", "5", True),
        ("5.0.0", "4.4", "5", False),
    ],
)
def test_in_range(version, lowest, below, inside):
    assert versions.in_range(version, lowest, below) is inside


def test_a_version_that_is_not_one_is_refused():
    with pytest.raises(ValueError, match="not a Neo4j version"):
        versions.parse("5.18-enterprise")


def states(current: str, applied: list[str] = ()) -> list[tuple[str, str]]:
    return [(s.hop.name, s.state) for s in versions.path(current, registry.hops(), applied)]


def test_the_registered_hops_are_the_path_in_order(settings):
    settings.NEO4J_MIGRATION_VERSION, settings.NEO4J_LTS_VERSION = "5.18.1", "5.26.12"
    settings.NEO4J_2025_VERSION = "2025.12.1"
    hops = registry.hops()
    assert [(h.name, h.neo4j_from, h.neo4j_to, h.release) for h in hops] == [
        ("neo4j-4.4-to-5", "4.4", "5", "5.18.1"),
        ("neo4j-5.18-to-5.26", "5", "5.26", "5.26.12"),
        ("neo4j-5.26-to-2025", "5.26", "2025", "2025.12.1"),
    ]
    assert versions.newest(hops) == "2025.12.1"
    # the schema migration (Neo4j 5 -> 5) is not a hop
    assert "alchemiscale-v0.3-to-v0.4" in registry.BY_NAME and "alchemiscale-v0.3-to-v0.4" not in {h.name for h in hops}


def test_which_hop_is_next_for_each_version():
    assert states("4.4.44") == [(NAMES[0], "next"), (NAMES[1], "later"), (NAMES[2], "later")]
    assert states("5.18.1") == [(NAMES[0], "not needed"), (NAMES[1], "next"), (NAMES[2], "later")]
    assert states("5.26.12") == [(NAMES[0], "not needed"), (NAMES[1], "not needed"), (NAMES[2], "next")]
    assert states("2025.12.1") == [(n, "not needed") for n in NAMES]


def test_applied_hops_are_marked_applied():
    assert states("5.26.12", applied=NAMES[:2]) == [(NAMES[0], "applied"), (NAMES[1], "applied"), (NAMES[2], "next")]
    assert states("2025.12.1", applied=NAMES) == [(n, "applied") for n in NAMES]


@pytest.mark.django_db
def test_the_page_path_reads_the_applied_record(fake_target):
    fake_target.version = "5.26.12"
    AppliedMigration.objects.create(name=NAMES[1], target="fake", outcome="applied", by_label="alice")
    AppliedMigration.objects.create(name=NAMES[2], target="fake", outcome="failed", by_label="alice")
    found = [(s.hop.name, s.state) for s in registry.upgrade_path(fake_target, fake_target.version)]
    assert found == [(NAMES[0], "not needed"), (NAMES[1], "applied"), (NAMES[2], "next")]
    assert registry.upgrade_path(fake_target, "unknown (Neo4j does not answer)") == []


@pytest.mark.django_db
def test_migrate_store_list_shows_the_path(fake_target, settings):
    settings.OPERATIONS_TARGET = "fake"
    fake_target.version = "5.18.1"
    out = io.StringIO()
    call_command("migrate_store", "--list", stdout=out)
    text = out.getvalue()
    assert f"Neo4j upgrade path: 5.18.1 -> {settings.NEO4J_2025_VERSION}" in text
    assert "  1. neo4j-4.4-to-5: Neo4j 4.4 -> " in text and "[not needed]" in text
    assert f"  2. neo4j-5.18-to-5.26: Neo4j 5 -> {settings.NEO4J_LTS_VERSION} [next]" in text
    assert f"  3. neo4j-5.26-to-2025: Neo4j 5.26 -> {settings.NEO4J_2025_VERSION} [later]" in text


@pytest.mark.django_db
def test_the_upgrade_page_shows_the_path(fake_target, settings, alice_client):
    settings.OPERATIONS_TARGET = "fake"
    fake_target.version = "5.18.1"
    page = alice_client.get("/admin/operations/appliedmigration/upgrade/").content.decode()
    assert f"Neo4j upgrade path: 5.18.1 &rarr; {settings.NEO4J_2025_VERSION}" in page
    assert 'class="path-step next" id="path-neo4j-5.18-to-5.26"' in page
    assert 'class="path-step later" id="path-neo4j-5.26-to-2025"' in page


@pytest.mark.django_db
def test_the_518_to_526_plan_and_its_prechecks(fake_target, settings):
    settings.NEO4J_LTS_VERSION = "5.26.12"
    fake_target.version = "5.18.1"
    procedure = Neo4j5To526Procedure(fake_target, {})
    assert procedure.check_versions() == []
    steps = plan(procedure)
    names = [s["name"] for s in steps]
    assert names == [
        "check the upgrade applies",
        "check the backups directory",
        "record the 5.x store",
        "stop Neo4j 5.x",
        "consistency check with Neo4j 5.x",
        "safety dump with Neo4j 5.x",
        "name and catalog the safety dump",
        "keep the 5.x data directory",
        "switch to Neo4j 5.26.12",
        "consistency check with Neo4j 5.26.12",
        "start Neo4j 5.26.12",
        "verify against the 5.x store",
        "record the upgrade",
        "put the 5.x data back",
        "start Neo4j 5.x again",
        "record the failed attempt",
    ]
    commands = {s["name"]: s["commands"] for s in steps}
    assert commands["consistency check with Neo4j 5.x"] == [
        ["/opt/neo4j/bin/neo4j-admin", "database", "check", "neo4j"]
    ]
    aside = "/opt/neo4j/data.neo4j-5.x"
    assert commands["keep the 5.x data directory"] == [["cp", "-a", "--reflink=auto", aside, "/opt/neo4j/data"]]
    assert [s["when"] for s in steps].count("failure") == 3

    # nothing stops before these: a store on another version, and one with a set-aside directory left over
    fake_target.version = "5.26.12"
    assert "applies from 5 up to, not including, 5.26" in procedure.check_versions()[0]
    fake_target.version = "4.4.44"
    assert procedure.check_versions()
    fake_target.version = "5.18.1"


@pytest.mark.django_db
def test_the_2025_upgrade_names_the_java_it_needs(fake_target, settings, monkeypatch, tmp_path):
    settings.NEO4J_2025_VERSION = "2025.12.1"
    fake_target.version = "5.26.12"
    procedure = Neo4j526To2025Procedure(fake_target, {})
    assert procedure.check_versions() == []
    assert "switch to Neo4j 2025.12.1" in [s["name"] for s in plan(procedure)]

    # the local target's Java check: Java 17 where 2025 needs 21 is refused with what is missing and what is here
    jdk17 = fake_jdk(tmp_path / "jdk17", '17.0.13" 2024-10-15')
    monkeypatch.setenv("JAVA_HOME", str(jdk17))
    monkeypatch.setattr(java, "JVM_DIR", tmp_path)
    fake_jdk(tmp_path / "jdk25", '25.0.3" 2026-04-21 LTS')
    problems = java.problems("2025.12.1")
    assert problems == [
        f"Neo4j 2025.12.1 needs Java 21 or newer; JAVA_HOME={jdk17}: {jdk17}/bin/java is Java 17; set JAVA_HOME to "
        f"one for the worker and for Neo4j (here: {tmp_path / 'jdk25'})"
    ]
    assert java.problems("5.26.12") == []
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk25"))
    assert java.problems("2025.12.1") == []
    assert java.needed_for("4.4.44") == 11


def fake_jdk(home: Path, version: str) -> Path:
    """A ``bin/java`` that answers ``-version`` as a JDK of that version would (on stderr)."""
    (home / "bin").mkdir(parents=True)
    script = home / "bin" / "java"
    script.write_text(f'#!/bin/sh\necho \'openjdk version "{version}\' >&2\n')
    os.chmod(script, 0o755)
    return home
