"""Neo4j 5.18 to 5.26 LTS in place (``neo4j-5.18-to-5.26``), on the local and the Docker target: a real failure after
5.26 has started on the store is rolled back (5.18 back on its own data, same graph, running), then the upgrade
runs again and succeeds with the graph, the counts and ``neo4j-admin database check`` as before."""

from __future__ import annotations

import pytest

from devtools.local_neo4j import NEO4J_518_VERSION, NEO4J_VERSION
from operations.models import AppliedMigration, Backup
from operations.runs.engine import execute
from operations.runs.registry import PROCEDURES
from operations.runs.requests import request
from operations.targets import get_target
from operations.upgrades import registry, services
from operations.upgrades.neo4j_forward import Neo4j5To526Procedure
from operations.upgrades.neo4j_switch import check_args
from tests.neo4j44 import with_damage
from tests.neo4j518 import store518  # noqa: F401  (fixture)

NAME = "neo4j-5.18-to-5.26"
VERIFY = "verify against the 5.x store"


class LosingUpgrade(Neo4j5To526Procedure):
    """The real upgrade, except that a node disappears from the store once 5.26 runs on it: the verification then
    really fails, after the old data was set aside, the target switched and 5.26 started (and upgraded the copy)."""

    kind = "neo4j-5.18-to-5.26-losing"

    def steps_for_run(self):
        return with_damage(
            super().steps_for_run(),
            VERIFY,
            lambda ctx: self.target.query("MATCH (n:AlchemicalNetwork) WITH n LIMIT 1 DETACH DELETE n"),
        )


@pytest.mark.django_db
def test_518_to_526_rolls_back_a_failure_then_upgrades(store518, alice, monkeypatch):
    monkeypatch.setitem(PROCEDURES, LosingUpgrade.kind, LosingUpgrade)
    target = get_target()
    before = store518.everything()
    assert len(before["nodes"]) == 60 and len(before["constraints"]) == 4
    store518.assert_runs(NEO4J_518_VERSION)
    assert [s.state for s in registry.upgrade_path(target, NEO4J_518_VERSION)][1] == "next"

    # 1. a failure midway: 5.18 back on its own data, running, the same graph
    failed = execute(request(LosingUpgrade(target, {}), user=alice, label="alice").pk)
    assert failed.status == "failed" and VERIFY in failed.error
    steps = {s.name: s for s in failed.steps.all()}
    assert steps[f"start Neo4j {NEO4J_VERSION}"].status == "ok"
    assert steps[VERIFY].status == "failed" and "AlchemicalNetwork: 30 before, 29 after" in failed.error
    assert steps["put the 5.x data back"].status == "ok", steps["put the 5.x data back"].output
    assert steps["start Neo4j 5.x again"].status == "ok", steps["start Neo4j 5.x again"].output
    store518.assert_runs(NEO4J_518_VERSION)
    assert store518.everything() == before
    assert not Neo4j5To526Procedure(target, {}).aside_dir().exists()
    assert AppliedMigration.objects.get(run=failed).outcome == "failed"
    if store518.target_name == "docker":
        assert store518.env_file_image() == "neo4j:5.18"

    # 2. the upgrade itself: 5.26 with the same graph; both consistency checks passed
    run = execute(services.request_migration(NAME, confirmation=NAME, user=alice, label="alice").pk)
    assert run.status == "succeeded", run.error + "\n" + "\n".join(s.output for s in run.steps.all())
    steps = {s.name: s for s in run.steps.all()}
    assert steps["consistency check with Neo4j 5.x"].status == "ok"
    assert f"checked with Neo4j {NEO4J_VERSION}" in steps[f"consistency check with Neo4j {NEO4J_VERSION}"].output
    assert steps["put the 5.x data back"].status == "skipped"
    store518.assert_runs(NEO4J_VERSION)
    assert store518.everything() == before
    record = AppliedMigration.objects.get(name=NAME, outcome="applied")
    assert (record.neo4j_before, record.neo4j_after) == (NEO4J_518_VERSION, NEO4J_VERSION)
    assert (record.details["nodes"], record.details["relationships"]) == (60, store518_relationships(before))
    assert Backup.objects.filter(purpose=Backup.Purpose.SAFETY).count() == 2  # one per attempt
    assert Neo4j5To526Procedure(target, {}).aside_dir().joinpath("databases", "neo4j").is_dir()
    if store518.target_name == "docker":
        assert store518.env_file_image() == "neo4j:5.26"
    assert [s.state for s in registry.upgrade_path(target, NEO4J_VERSION)] == ["not needed", "applied", "next"]

    # and the upgraded store, stopped, passes 5.26's own check
    store518.stop()
    result = target.admin(check_args("neo4j"))
    assert result.ok, result.output[-2000:]


def store518_relationships(snapshot) -> int:
    return len(snapshot["relationships"])
