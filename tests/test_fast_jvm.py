"""The suite's fast JVM starts (docs/testing.md "Fast JVM starts"): with PORTAL_DEV_FAST_JVM=1 the dev tools' JVMs
of a 5.x version map the class archives `scripts/test.sh` made, and the archives really serve them (a classpath or
Java that no longer matches would be ignored without a word); 4.4's Java 11 gets none; without the variable the
distribution's flags. The same for the Docker target's test image (scripts/neo4j_image.py), whose archives are made at
build time. Runs short neo4j-admin JVMs, no server."""

from __future__ import annotations

import subprocess
from pathlib import Path

from devtools.local_neo4j import (
    FAST_JVM_ENV,
    JVM_FLAGS,
    NEO4J_44_VERSION,
    NEO4J_518_VERSION,
    NEO4J_VERSION,
    Neo4jInstance,
)
from tests.docker_fixtures import IMAGE, IMAGE_44, docker_client


def _instance(home: Path, version: str) -> Neo4jInstance:
    """An instance laid out (configuration, directories), never started."""
    inst = Neo4jInstance(home=home, version=version)
    for d in (inst.conf_dir, inst.data_dir, inst.logs_dir, inst.pid_file.parent):
        d.mkdir(parents=True)
    inst.write_config()
    return inst


def _loaded_from_archive(inst: Neo4jInstance) -> list[str]:
    """The classes an admin JVM of ``inst`` loaded from the dynamic archive (the top layer of class-data sharing)."""
    cmd = inst.admin_command(["--version"])
    proc = subprocess.run(
        [cmd[0], "-Xlog:class+load=info", *cmd[1:]], capture_output=True, text=True, env=inst.admin_env(), timeout=60
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return [line for line in proc.stdout.splitlines() if "source: shared objects file (top)" in line]


def test_fast_starts_use_the_class_archives_of_5x_only(monkeypatch, tmp_path: Path):
    monkeypatch.setenv(FAST_JVM_ENV, "1")
    for version in (NEO4J_VERSION, NEO4J_518_VERSION):
        inst = _instance(tmp_path / version, version)
        flags = inst.jvm_flags(inst.java(), "admin")
        assert "-XX:TieredStopAtLevel=1" in flags
        assert any(f.startswith("-XX:SharedArchiveFile=") and f.endswith(".jsa") for f in flags), flags
        neo4j_classes = [line for line in _loaded_from_archive(inst) if " org.neo4j." in line]
        assert len(neo4j_classes) > 200, f"Neo4j {version}: {len(neo4j_classes)} classes from the archive"

    old = Neo4jInstance(home=tmp_path / "44", version=NEO4J_44_VERSION)
    assert old.jvm_flags(old.java(), "server") == JVM_FLAGS

    monkeypatch.setenv(FAST_JVM_ENV, "0")
    inst = _instance(tmp_path / "off", NEO4J_VERSION)
    assert inst.jvm_flags(inst.java(), "server") == JVM_FLAGS
    assert _loaded_from_archive(inst) == []


def _image_classes_from_archive(image: str) -> list[str]:
    """The Neo4j classes the image's neo4j-admin loaded from its class archive (the JVM reads JAVA_TOOL_OPTIONS)."""
    out = docker_client().containers.run(
        image,
        ["neo4j-admin", "--version"],
        environment={"JAVA_TOOL_OPTIONS": "-Xlog:class+load=info"},
        network_mode="none",
        remove=True,
    )
    return [
        line
        for line in out.decode().splitlines()
        if "source: shared objects file (top)" in line and " org.neo4j." in line
    ]


def test_the_test_image_maps_its_class_archives_on_5x():
    assert len(_image_classes_from_archive(IMAGE)) > 200
    assert _image_classes_from_archive(IMAGE_44) == []
