"""A scratch neo4j-admin killed by a signal (the OOM killer, an operator) used to mark a good backup "verification
failed: exit code -9" (issue 26, faults 7). Now the run fails saying the check could not finish, and the backup
keeps the verdict it had; a tool that gives up on the dump still fails it. Unit tier: the stand-in target
(tests/fake_target.py) answers neo4j-admin as told, a real dump file is hashed."""

from __future__ import annotations

import hashlib

import pytest

from operations.models import Backup
from operations.runs import engine
from operations.runs import requests as run_requests
from tests.backup_support import catalog_row

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


def _verify(fake_target, monkeypatch, code: int, output: str) -> tuple[Backup, str]:
    monkeypatch.setattr(run_requests, "enqueue", lambda run: None)
    fake_target.backup_dir.mkdir(parents=True, exist_ok=True)
    dump = fake_target.backup_dir / "neo4j-20261206-100000.dump"
    dump.write_bytes(b"a dump's bytes")
    backup = catalog_row(
        file_name=dump.name,
        target=fake_target.name,
        sha256=hashlib.sha256(dump.read_bytes()).hexdigest(),
        size=dump.stat().st_size,
        database="neo4j",
    )
    fake_target.on_admin = lambda args: (code, output) if args[:2] == ["database", "load"] else (0, "")
    from operations.backups.procedures.verify import VerifyProcedure

    run = run_requests.request(VerifyProcedure(fake_target, {"backup_ids": [backup.pk]}), user=None, label="t")
    run = engine.execute(run.pk)
    backup.refresh_from_db()
    return backup, run.error


def test_a_killed_tool_leaves_the_backup_unjudged(fake_target, monkeypatch):
    backup, error = _verify(fake_target, monkeypatch, -9, "")
    assert backup.verification == Backup.Verification.NEVER
    assert "killed by signal 9" in error and "could not finish" in error


def test_a_tool_that_gives_up_on_the_dump_still_fails_it(fake_target, monkeypatch):
    backup, error = _verify(fake_target, monkeypatch, 1, "the dump is corrupt")
    assert backup.verification == Backup.Verification.FAILED and "does not load" in backup.verification_detail
