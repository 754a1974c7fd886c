"""The local target's configuration (docs/local-target.md): a missing installation, configuration file or switch
command, or a switch that cannot be done, is a clear error naming the setting; bad values stop the portal at start.
Nothing here starts Neo4j."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.local_neo4j import NEO4J_VERSION, Neo4jInstance, portal_settings
from operations.targets import TargetError, get_target
from operations.targets.base import initial_password_args
from operations.targets.local import LocalTarget

ROOT = Path(__file__).resolve().parent.parent


def _installation(tmp_path: Path) -> Neo4jInstance:
    """An installation laid out by the dev tools, never started: only its files and commands are used."""
    inst = Neo4jInstance(home=tmp_path / "neo4j", version=NEO4J_VERSION)
    for d in (inst.conf_dir, inst.data_dir, inst.logs_dir, inst.pid_file.parent):
        d.mkdir(parents=True)
    inst.write_config()
    return inst


def test_bad_command_or_migration_version_stops_the_portal_naming_the_variable():
    for name, value, expected in [
        ("PORTAL_NEO4J_START_COMMAND", "systemctl start 'neo4j", "PORTAL_NEO4J_START_COMMAND is not a valid command"),
        ("PORTAL_NEO4J_MIGRATION_VERSION", "5.18", "PORTAL_NEO4J_MIGRATION_VERSION must be a Neo4j 5 release"),
    ]:
        proc = subprocess.run(
            [sys.executable, "manage.py", "check"],
            cwd=ROOT,
            env={**os.environ, name: value},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode != 0 and expected in proc.stderr, proc.stderr[-2000:]


def test_missing_installation_or_configuration_names_the_setting(settings, tmp_path):
    settings.NEO4J_HOME = tmp_path / "absent"
    with pytest.raises(TargetError, match="PORTAL_NEO4J_HOME: .* is not a directory"):
        get_target("local")
    settings.NEO4J_HOME = tmp_path
    with pytest.raises(TargetError, match="neo4j.conf does not exist: set PORTAL_NEO4J_CONF"):
        get_target("local")


@pytest.mark.django_db
def test_switching_needs_the_setting_and_the_release(settings, tmp_path):
    inst = _installation(tmp_path)
    settings.NEO4J_HOME, settings.NEO4J_SWITCH_COMMAND = inst.home, []
    target = get_target("local")
    assert isinstance(target, LocalTarget) and target.neo4j_version() == NEO4J_VERSION
    assert target.data_dir == inst.data_dir and not target.is_up()

    # No switch command: the migration's precheck says which setting, before anything is stopped.
    assert "set PORTAL_NEO4J_SWITCH_COMMAND" in target.check_neo4j_version("5.18.1")[0]
    with pytest.raises(TargetError, match="PORTAL_NEO4J_SWITCH_COMMAND"):
        target.use_neo4j_version("5.18.1")

    # The dev tools' switch to a release that is not installed refuses (it never fetches); nothing changes.
    settings.NEO4J_SWITCH_COMMAND = shlex.split(portal_settings(inst.home)["PORTAL_NEO4J_SWITCH_COMMAND"])
    target = get_target("local")
    assert target.check_neo4j_version("5.99.0") == []
    with pytest.raises(TargetError) as failure:
        target.use_neo4j_version("5.99.0")
    assert "PORTAL_NEO4J_SWITCH_COMMAND" in str(failure.value) and "5.99.0 is not in the cache" in str(failure.value)
    assert target.neo4j_version() == NEO4J_VERSION

    # A command that claims success but leaves another release is caught.
    settings.NEO4J_SWITCH_COMMAND = ["true", "{version}"]
    with pytest.raises(TargetError, match=f"holds Neo4j {NEO4J_VERSION}, not 5.18.1"):
        get_target("local").use_neo4j_version("5.18.1")


@pytest.mark.django_db
def test_a_side_store_password_beginning_with_a_dash_is_set(settings, tmp_path):
    # One throwaway password in 64 from secrets.token_urlsafe begins with "-": neo4j-admin must not take it for an
    # option (docs/facts.md). The real neo4j-admin writes the side store's auth file; no server is started.
    settings.NEO4J_HOME = _installation(tmp_path).home
    target = get_target("local")
    root = target.snapshot_dir()
    conf = target._side_conf(root)
    result = target.admin_tool.run(initial_password_args("-looks-like-an-option"), conf)
    assert result.ok, result.output
    assert (root / "data" / "dbms" / "auth.ini").is_file()
