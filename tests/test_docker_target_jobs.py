"""The Docker target drives the compose-made Neo4j container: finds it by labels, stops and starts it, and runs
neo4j-admin in one-off containers of the same image, as the data owner, with no network."""

import os
import shutil
import time

import docker

from devtools.local_neo4j import NEO4J_VERSION
from operations.targets.base import not_owned_by
from operations.targets.docker import CONTAINER_DATA_DIR, JOB_LABEL, jobs
from tests.docker_fixtures import DATA_GID, DATA_UID, IMAGE


def test_finds_the_container_and_its_facts(docker_neo4j, docker_neo4j_container):
    target = docker_neo4j
    assert target.container().id == docker_neo4j_container.id
    assert target.neo4j_version() == NEO4J_VERSION
    assert target.data_owner() == (DATA_UID, DATA_GID)
    mounts = {m["Destination"]: m["Source"] for m in docker_neo4j_container.attrs["Mounts"]}
    assert str(target.data_dir) == mounts[CONTAINER_DATA_DIR]
    assert (target.data_dir / "databases" / "neo4j").is_dir()
    assert docker_neo4j_container.name in target.describe()


def test_admin_jobs_run_as_the_data_owner_without_network(docker_neo4j):
    target = docker_neo4j
    who = target.run_job(["id"], ["-u"])
    assert who.ok and who.output.strip() == str(DATA_UID)
    # /proc/net/dev lists the interfaces the job can use: with network "none" only loopback exists.
    interfaces = target.run_job(["cat"], ["/proc/net/dev"]).output.splitlines()[2:]
    assert [line.split(":")[0].strip() for line in interfaces] == ["lo"]
    version = target.admin(["--version"])
    assert version.ok and NEO4J_VERSION in version.output
    assert version.command[:3] == ["docker", "run", "--rm"] and IMAGE in version.command
    # One-off containers do not outlive their job.
    client = docker.from_env()
    assert client.containers.list(all=True, filters={"label": JOB_LABEL}) == []


def test_offline_dump_as_the_data_owner_and_back_up(docker_neo4j):
    target = docker_neo4j
    target.query("UNWIND range(1, 10) AS i CREATE (:DockerProbe {n: i})")
    work = target.backup_dir / ".docker-dump-test"
    work.mkdir(parents=True, exist_ok=True)
    try:
        assert "given to uid 7474 gid 7474" in target.fix_ownership([work])
        assert (work.stat().st_uid, work.stat().st_gid) == (DATA_UID, DATA_GID)
        target.stop()
        container = target.container()
        assert not target.is_up() and container.status == "exited"
        assert container.attrs["State"]["ExitCode"] == 0  # a clean shutdown, not a kill
        # `docker stop` keeps an unless-stopped container down; the policy itself is left as compose set it.
        assert container.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
        target.stop()  # a no-op when stopped
        result = target.admin(["database", "dump", "neo4j", f"--to-path={target.admin_path(work)}"])
        target.start()
        assert result.ok, result.output
        dump = work / "neo4j.dump"
        assert dump.is_file() and dump.stat().st_size > 0
        assert dump.stat().st_uid == DATA_UID
        assert target.is_up() and target.query("MATCH (p:DockerProbe) RETURN count(p)") == [[10]]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _job_containers_created(since: float) -> int:
    """One-off containers the engine created since ``since`` (its event log, up to a second from now)."""
    events = docker.from_env().events(
        since=since, until=time.time() + 1, filters={"type": "container", "event": "create"}, decode=True
    )
    return sum(1 for e in events if JOB_LABEL in (e.get("Actor", {}).get("Attributes") or {}))


def test_ownership_is_given_here_as_root_in_a_container_otherwise_and_not_at_all_when_owned(docker_neo4j, monkeypatch):
    target = docker_neo4j
    work = target.backup_dir / ".docker-chown-test"
    shutil.rmtree(work, ignore_errors=True)
    (work / "sub").mkdir(parents=True)
    (work / "sub" / "file").write_text("x")
    try:
        started = time.time()
        # this worker is root (as the compose deployment's is): chown here, no container
        assert "(3 file(s), here)" in target.fix_ownership([work])
        assert not_owned_by([work], DATA_UID, DATA_GID) == []
        assert "already owned by uid 7474 gid 7474" in target.fix_ownership([work])
        assert _job_containers_created(started) == 0

        # a worker that is not root: one root container does it
        for name in [str(work), str(work / "sub"), str(work / "sub" / "file")]:
            os.lchown(name, 0, 0)
        monkeypatch.setattr(jobs, "chown_here", lambda: False)
        started = time.time()
        assert "in a one-off container" in target.fix_ownership([work])
        assert not_owned_by([work], DATA_UID, DATA_GID) == []
        assert _job_containers_created(started) == 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
