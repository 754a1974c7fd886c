"""A STAND-IN target for the unit tier: no Neo4j behind it, only a record of what was asked.

The unit tier tests what the portal plans and decides (a procedure's steps and exact commands, the runner's rules),
not Neo4j: that is what the scenario tests do against the real local and Docker targets. ``FakeTarget`` answers the
:class:`~operations.targets.Target` interface from attributes a test sets (``up``, ``version``, ``graph``, ``on_admin``)
and records every call in ``calls``; it never starts a process or opens a connection.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath

import pytest

from identities.store_diff import READ_IDENTITIES
from operations.targets import TARGETS, AdminResult, Connection, Target
from operations.targets.alchemiscale_cli import AlchemiscaleCli
from operations.targets.base import COUNT_STATEMENTS

CONNECTION = Connection(url="bolt://127.0.0.1:9", user="neo4j", password="fake-target-password", database="neo4j")


class FakeTarget(Target):
    name = "fake"

    def __init__(self, connection: Connection = CONNECTION, backup_dir: Path = Path("/srv/backups"), **kwargs):
        super().__init__(connection, backup_dir, **kwargs)
        self.up = True
        self.version = "5.26.12"
        self.home = PurePosixPath("/opt/neo4j")
        #: (nodes, relationships) the store holds, as counts() reports them
        self.graph = (48, 62)
        #: what admin() does: called with the arguments, returns (exit code, output); default success, no output
        self.on_admin: Callable[[list[str]], tuple[int, str]] = lambda args: (0, "")
        self.calls: list[tuple[str, ...]] = []
        #: rows of identities.store_diff.READ_IDENTITIES on the live store and on any side store
        self.identities: list[list] = []
        self.side_identities: list[list] = []
        #: the end of Neo4j's own log, as neo4j_log_tail() gives it
        self.log = ""

    def describe(self) -> str:
        return f"fake Neo4j {self.version}"

    def is_up(self) -> bool:
        return self.up

    def stop(self) -> None:
        self.calls.append(("stop",))
        self.up = False

    def start_process(self) -> None:
        self.calls.append(("start",))
        self.up = True

    def wait_for_bolt(self, timeout: float | None = None) -> None:
        self.calls.append(("wait_for_bolt",))

    def neo4j_version(self) -> str:
        return self.version

    @property
    def data_dir(self) -> Path:
        return Path(self.home) / "data"

    @property
    def admin_backup_dir(self) -> PurePosixPath:
        return PurePosixPath("/backups")

    def admin_command(self, args: list[str]) -> list[str]:
        return [f"{self.home}/bin/neo4j-admin", *args]

    def admin(self, args: list[str]) -> AdminResult:
        self.calls.append(("admin", *args))
        code, output = self.on_admin(args)
        return AdminResult(self.admin_command(args), code, output)

    def counts(self) -> tuple[int, int]:
        return self.graph

    def neo4j_log_tail(self) -> str:
        return self.log

    def query(self, cypher: str, params: dict | None = None) -> list[list]:
        self.calls.append(("query", cypher))
        if cypher == READ_IDENTITIES:
            return self.identities
        raise AssertionError(f"the stand-in answers no other query: {cypher}")

    # Side stores (the snapshot a backup dumps, the staging a restore loads): neo4j-admin with a scratch
    # configuration, recorded and answered like admin().
    def side_admin_command(self, root: Path, args: list[str]) -> list[str]:
        return [f"NEO4J_CONF={root}/conf", *self.admin_command(args)]

    def side_admin(self, root: Path, args: list[str]) -> AdminResult:
        self.calls.append(("side_admin", str(root), *args))
        code, output = self.on_admin(args)
        return AdminResult(self.side_admin_command(root, args), code, output)

    # The scratch store a verification loads a dump into: answered like admin().
    def scratch_admin_command(self, args: list[str]) -> list[str]:
        return [f"NEO4J_CONF={self.scratch_dir()}/conf", *self.admin_command(args)]

    def scratch_admin(self, args: list[str]) -> AdminResult:
        self.calls.append(("scratch_admin", *args))
        code, output = self.on_admin(args)
        return AdminResult(self.scratch_admin_command(args), code, output)

    def side_read(self, root: Path, statements: list[str]) -> list[list[list]]:
        """The graph's counts for the count statements, the side identities for READ_IDENTITIES."""
        self.calls.append(("side_counts", str(root)))
        answers = {COUNT_STATEMENTS[0]: [[self.graph[0]]], COUNT_STATEMENTS[1]: [[self.graph[1]]]}
        return [answers[s] if s in answers else self.side_identities for s in statements]

    def fix_ownership(self, paths: list[Path]) -> str:
        self.calls.append(("fix_ownership", *map(str, paths)))
        return "owned"

    @property
    def alchemiscale_cli(self) -> FakeAlchemiscaleCli:
        return FakeAlchemiscaleCli(self)


class FakeAlchemiscaleCli(AlchemiscaleCli):
    """Records ``alchemiscale ARGS`` in its target's ``calls`` and answers success; runs nothing."""

    target: FakeTarget

    def problems(self) -> list[str]:
        return []

    def command(self, args: list[str]) -> list[str]:
        return ["alchemiscale", *args]

    def run(self, args: list[str]) -> AdminResult:
        self.target.calls.append(("alchemiscale", *args))
        return AdminResult(self.command(args), 0, "")

    def is_standin(self) -> bool:
        return False


@pytest.fixture
def fake_target(monkeypatch, tmp_path) -> FakeTarget:
    """A FakeTarget whose backups directory is a scratch directory, known to ``get_target("fake")`` (which the
    runner calls in ``execute``) as this very object."""
    target = FakeTarget(backup_dir=tmp_path / "backups")
    monkeypatch.setitem(TARGETS, FakeTarget.name, lambda **kwargs: target)
    return target
