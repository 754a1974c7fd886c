"""The Neo4j 4.4 to 5 data migration on the committed 4.4 fixture, on the local target (to 5.18 and 5.26) and the
Docker target (5.26): the data reads back identically."""

from __future__ import annotations

import pytest

from devtools.local_neo4j import NEO4J_44_VERSION, NEO4J_518_VERSION, NEO4J_VERSION
from operations.models import AppliedMigration, Backup, OperationRun
from operations.runs.contract import OperationFailed
from operations.runs.engine import execute
from operations.upgrades import services
from operations.upgrades.neo4j_data import aside_dir, staging_dir
from tests.conftest import ALCHEMISCALE_CONSTRAINTS
from tests.neo4j44 import store44  # noqa: F401  (fixture)

NAME = "neo4j-4.4-to-5"


# The guide's 5.18 (the setting's default) and 5.26 on the local target; the Docker tests' images hold 5.26.
@pytest.mark.parametrize(
    "store44, to_version",
    [("local", NEO4J_518_VERSION), ("local", NEO4J_VERSION), ("docker", NEO4J_VERSION)],
    indirect=["store44"],
)
@pytest.mark.django_db
def test_44_fixture_migrates_to_5_and_reads_back_identically(store44, to_version, alice, settings):
    store44.to_version = settings.NEO4J_MIGRATION_VERSION = to_version
    before = store44.everything()
    assert len(before["nodes"]) == 48 and len(before["relationships"]) == 62
    assert before["constraints"] == sorted(ALCHEMISCALE_CONSTRAINTS)
    store44.assert_runs(NEO4J_44_VERSION)

    run = services.request_migration(NAME, confirmation=NAME, user=alice, label="alice")
    run = execute(run.pk)
    assert run.status == "succeeded", run.error + "\n" + "\n".join(s.output for s in run.steps.all())

    store44.assert_runs(store44.to_version)
    assert store44.everything() == before

    # the safety dump is a 4.4 dump in the catalog, the 4.4 data directory is kept aside, the load link is gone
    safety = Backup.objects.get(purpose=Backup.Purpose.SAFETY)
    assert safety.neo4j_version.startswith("4.4.") and (settings.BACKUP_DIR / safety.file_name).stat().st_size > 0
    assert (settings.BACKUP_DIR / safety.file_name).read_bytes()[:4] != b""
    assert aside_dir(run_target()).joinpath("databases", "neo4j").is_dir()
    assert not staging_dir(run_target()).exists()
    steps = {s.name: s for s in run.steps.all()}
    assert steps["consistency check"].status == "ok"
    assert steps["put the 4.4 data back"].status == "skipped"

    record = AppliedMigration.objects.get(name=NAME)
    assert (record.outcome, record.by, record.by_label, record.run_id) == ("applied", alice, "alice", run.pk)
    assert record.neo4j_before.startswith("4.4.") and record.neo4j_after == store44.to_version
    assert (record.details["nodes"], record.details["relationships"]) == (48, 62)
    if store44.target_name == "docker":
        # PORTAL_COMPOSE_ENV_FILE is set: compose's .env names the new image, its other lines and mode untouched
        assert store44.env_file_image() == "neo4j:5.26"
        assert store44.env_file.read_text().startswith("# alchemiscale-server\nNEO4J_USER=neo4j\n")
        assert store44.env_file.stat().st_mode & 0o777 == 0o640
        assert "NEO4J_DOCKER_IMAGE=neo4j:5.26 written to" in steps[f"switch to Neo4j {store44.to_version}"].output
        assert "To do" not in steps["record the migration"].output

    # a second request is refused: it no longer applies, and it is recorded as applied
    with pytest.raises(OperationFailed, match="already applied"):
        services.request_migration(NAME, confirmation=NAME, user=alice, label="alice")
    assert OperationRun.objects.filter(kind="neo4j-4.4-to-5").count() == 1


def run_target():
    from operations.targets import get_target

    return get_target()
