"""A queue per target (PORTAL_OPERATIONS_QUEUES): each target's run goes to the worker that consumes its queue, the
one on the machine that can reach that target (docs/deploying.md, "More than one machine"), and to no other worker."""

import os
import shutil
import subprocess
import sys

import pytest

from operations.backups import services
from operations.backups.procedures.dumps import in_progress_dir
from operations.targets import get_target

from .conftest import ROOT, dedicated_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_each_targets_run_lands_on_its_own_workers_queue(settings, docker_neo4j):
    queues = {"local": f"ops-local-{os.getpid()}", "docker": f"ops-docker-{os.getpid()}"}
    settings.OPERATIONS_QUEUES = queues  # as PORTAL_OPERATIONS_QUEUES=local:ops-local-N,docker:ops-docker-N
    targets = {name: get_target(name) for name in queues}
    if not targets["local"].is_up():
        targets["local"].start()
    targets["local"].wait_for_bolt()
    dirs = {t.backup_dir for t in targets.values()}
    before = {d: set(d.iterdir()) if d.is_dir() else set() for d in dirs}
    try:
        with (
            dedicated_worker("neo4j-host", queues["local"]) as local_worker,
            dedicated_worker("docker-host", queues["docker"]) as docker_worker,
        ):
            runs = {name: services.request_backup(label=f"routing {name}", target=targets[name]) for name in queues}
            assert {name: run.queue for name, run in runs.items()} == queues
            runs = {name: wait_for(run) for name, run in runs.items()}
        for name, run in runs.items():
            assert run.status == "succeeded", (name, run.error)
            assert run.target == name
        assert runs["local"].worker == local_worker.node
        assert runs["docker"].worker == docker_worker.node
    finally:
        for d in dirs:
            for path in set(d.iterdir()) - before[d] if d.is_dir() else ():
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        for t in targets.values():
            shutil.rmtree(in_progress_dir(t), ignore_errors=True)
            if not t.is_up():
                t.start()


def _settings_in_a_process(queues: str) -> subprocess.CompletedProcess:
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(sorted(settings.OPERATIONS_QUEUES.items()), settings.OPERATIONS_QUEUE)"
    )
    env = {
        **os.environ,
        "PORTAL_OPERATIONS_QUEUES": queues,
        "PORTAL_OPERATIONS_QUEUE": "ops",
        "DJANGO_SETTINGS_MODULE": "alchemiscale_portal.settings",
    }
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_the_queue_map_is_read_from_the_environment_and_a_bad_entry_stops_the_portal():
    read = _settings_in_a_process(" local:ops-local , docker:ops-docker ")
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip() == "[('docker', 'ops-docker'), ('local', 'ops-local')] ops"
    assert _settings_in_a_process("").stdout.strip() == "[] ops"
    for bad in ("local", "elsewhere:q", "docker:"):
        refused = _settings_in_a_process(bad)
        assert refused.returncode != 0 and "PORTAL_OPERATIONS_QUEUES" in refused.stderr, (bad, refused.stderr)
