"""A real failure in the middle of the 4.4 to 5 migration leaves the 4.4 data in place, and 4.4 starts on it
(local and Docker target)."""

from __future__ import annotations

import shutil

import pytest

from devtools.local_neo4j import NEO4J_44_VERSION
from operations.models import AppliedMigration
from operations.runs.engine import execute
from operations.runs.registry import PROCEDURES
from operations.runs.requests import request
from operations.targets import get_target
from operations.upgrades.neo4j_data import Neo4j44To5Procedure, aside_dir
from tests.neo4j44 import store44, with_damage  # noqa: F401  (fixture)


class DamagedStoreMigration(Neo4j44To5Procedure):
    """The real migration, except that the freshly loaded 5.x store loses its files just before the store-format
    migration: neo4j-admin then really fails, after the 4.4 data was set aside and the installation switched."""

    kind = "neo4j-4.4-to-5-damaged"

    def steps_for_run(self):
        return with_damage(
            super().steps_for_run(),
            "migrate the store format",
            lambda ctx: shutil.rmtree(self.target.data_dir / "databases" / "neo4j"),
        )


@pytest.mark.django_db
def test_failure_mid_migration_puts_44_back_and_it_starts(store44, alice, monkeypatch):
    monkeypatch.setitem(PROCEDURES, DamagedStoreMigration.kind, DamagedStoreMigration)
    before = store44.everything()
    if store44.target_name == "docker":
        # a .env without the line: the switch to 5.26 adds it, the switch back rewrites it
        store44.env_file.write_text("NEO4J_USER=neo4j")

    run = request(DamagedStoreMigration(get_target(), {}), user=alice, label="alice")
    run = execute(run.pk)

    assert run.status == "failed"
    assert "migrate the store format" in run.error
    steps = {s.name: s.status for s in run.steps.all()}
    assert steps[f"load with Neo4j {store44.to_version}"] == "ok"
    assert steps["migrate the store format"] == "failed"
    assert steps[f"start Neo4j {store44.to_version}"] == "skipped"
    assert steps["put the 4.4 data back"] == "ok", run.steps.get(name="put the 4.4 data back").output
    assert steps["start Neo4j 4.4 again"] == "ok"

    # the installation (or container) is 4.4 again, on the 4.4 data directory, and the data is all there
    store44.assert_runs(NEO4J_44_VERSION)
    assert not aside_dir(get_target()).exists()
    assert store44.everything() == before
    if store44.target_name == "docker":
        assert store44.env_file.read_text() == "NEO4J_USER=neo4j\nNEO4J_DOCKER_IMAGE=neo4j:4.4\n"

    # and it starts again from cold on that data
    store44.stop()
    store44.start()
    assert store44.everything() == before

    record = AppliedMigration.objects.get(run=run)
    assert record.outcome == "failed" and record.name == "neo4j-4.4-to-5"
    assert record.details["failed_steps"] == ["migrate the store format"]
