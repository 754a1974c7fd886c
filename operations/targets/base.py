"""A target: the one Neo4j service an operation acts on, and how to reach it.

Procedures (``operations/backups/procedures/``) never know whether Neo4j is a local process or a Docker container; they only
use the methods below. Adding a target:

1. subclass :class:`Target` in ``operations/targets/<name>.py``: set ``name`` and implement the abstract methods;
2. add its name to ``TARGET_NAMES`` in ``operations/target_names.py`` (``PORTAL_OPERATIONS_TARGET`` picks one by
   name) and the class to ``TARGETS`` in ``operations/targets/__init__.py``;
3. add it to the ``target`` fixture in ``tests/operations/conftest.py`` so every operations test also runs on it.

Paths have two views. The *portal's* view is where this process reads and writes files (``data_dir``,
``backup_dir``); *neo4j-admin's* view is where the admin tool sees the same files (``admin_backup_dir``). For the
local target they are the same; a Docker target mounts the directories at other paths inside its container.
Everything a procedure hands to neo4j-admin goes through :meth:`Target.admin_path`.

Offline jobs (dump, load) need the server stopped: ``stop()`` returns only when the process is gone, ``start()``
only when Bolt answers queries on the database (or raises :class:`TargetError` saying why not).

alchemiscale's own CLI (``alchemiscale database migrate v03-to-v04``) runs where Neo4j is, so each target chooses how
(:attr:`Target.alchemiscale_cli`); the interface and its local implementation are in ``alchemiscale_cli.py``.
"""

from __future__ import annotations

import abc
import os
import re
import shutil
import subprocess
import time
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

import neo4j

from security.masking import mask_url

from . import snapshots
from .alchemiscale_cli import AlchemiscaleCli

# A layer below this module, so that snapshots.py and alchemiscale_cli.py can use them too; still importable from here.
from .common import AdminResult, Connection, TargetError


class Target(abc.ABC):
    #: the name stored on operation runs and given in PORTAL_OPERATIONS_TARGET
    name: ClassVar[str]

    def __init__(self, connection: Connection, backup_dir: Path, start_timeout: float = 180.0):
        self.connection = connection
        self._backup_dir = Path(backup_dir)
        self.start_timeout = start_timeout

    # -- what every target implements ---------------------------------------------------------------
    @abc.abstractmethod
    def describe(self) -> str:
        """One line for staff: which Neo4j this is (e.g. 'local Neo4j 5.26.12 at /srv/neo4j')."""

    @abc.abstractmethod
    def is_up(self) -> bool:
        """The server process is running (it may still be starting). Decides whether to start it again after."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop the server; return only when its process is gone. A no-op when it is not running."""

    @abc.abstractmethod
    def start_process(self) -> None:
        """Start the server process (a no-op when running); :meth:`start` then waits for Bolt."""

    @abc.abstractmethod
    def neo4j_version(self) -> str:
        """The version of the installed server (e.g. '5.26.12'), known without the server running."""

    @property
    @abc.abstractmethod
    def data_dir(self) -> Path:
        """The server's data directory (``databases/``, ``transactions/``, ``dbms/``) as the portal sees it."""

    @property
    def backup_dir(self) -> Path:
        """Where backups are written, as the portal sees it."""
        return self._backup_dir

    @property
    @abc.abstractmethod
    def admin_backup_dir(self) -> PurePosixPath:
        """The same backups directory as neo4j-admin sees it."""

    @abc.abstractmethod
    def admin_command(self, args: list[str]) -> list[str]:
        """The exact command line :meth:`admin` runs for ``neo4j-admin ARGS`` (shown in previews)."""

    @abc.abstractmethod
    def admin(self, args: list[str]) -> AdminResult:
        """Run ``neo4j-admin ARGS`` as the owner of the data directory; never raises for a non-zero exit."""

    @abc.abstractmethod
    def fix_ownership(self, paths: list[Path]) -> str:
        """Give ``paths`` (recursively) to the data directory's owner; returns what was done, for the log."""

    @property
    @abc.abstractmethod
    def alchemiscale_cli(self) -> AlchemiscaleCli:
        """alchemiscale's CLI run against this target's Neo4j (``operations/targets/alchemiscale_cli.py``)."""

    # -- switching the Neo4j version: the 4.4 to 5.x store migration (``operations/upgrades/neo4j_data.py``) ------
    def check_neo4j_version(self, version: str) -> list[str]:
        """Problems that would stop a switch to ``version`` (e.g. its image is missing); checked before anything is
        stopped. Cheap: it runs on every view of the upgrade page."""
        return []

    def switch_description(self, version: str) -> str:
        """What :meth:`use_neo4j_version` will do, for the plan shown before a run."""
        return f"the server becomes Neo4j {version}"

    def use_neo4j_version(self, version: str) -> str:
        """Make ``version`` the installed server (configuration included), not started; the server must be stopped.
        Returns what was done, for the step's output.

        The Neo4j 4.4 to 5.x store migration switches with it and, on failure or roll back, back.
        """
        raise TargetError(f"the {self.name} target cannot switch its Neo4j version")

    def check_java(self, version: str) -> list[str]:
        """Problems with the Java Neo4j ``version`` would run on (2025.x needs 21 or newer); empty where the target
        brings its own Java with each version (a Docker image)."""
        return []

    def version_follow_up(self, version: str) -> str:
        """What staff still have to do by hand after a switch to ``version`` (empty: nothing)."""
        return ""

    def admin_command_for(self, version: str, args: list[str]) -> list[str]:
        """The command line of ``neo4j-admin ARGS`` once the server is ``version`` (previews of a version switch)."""
        return self.admin_command(args)

    def hold_stopped(self) -> None:
        """Keep the project's own scripts from starting the server until :meth:`start` or :meth:`release_stopped`
        (the runner calls it when a run ends); :meth:`stop` does it too. A no-op where the target has no such lock."""

    def release_stopped(self) -> None:
        """Let others start the server again (the end of a run that left it stopped)."""

    def crash_evidence(self) -> str | None:
        """When the server is down: why it looks like it died rather than was stopped on purpose (None: stopped,
        or this target cannot tell). A backup then says so loudly and starts it again after the dump."""
        return None

    def stop_admin(self) -> list[str]:
        """Stop any neo4j-admin still running on this target (orphaned by a dead worker); returns what was done.

        Recovery calls it before starting Neo4j, which must not start on a store an admin job still holds.
        """
        return []

    # -- verifying a backup in a scratch Neo4j (operations/backups/procedures/verify.py, docs/verification.md) ---------
    def scratch_dir(self) -> Path:
        """Where a verification loads a dump: never the live store. Under the backups directory (hidden, fixed per
        target so the preview is exact), which every target's admin jobs can already reach."""
        return self.backup_dir / f".verify-{self.name}"

    def scratch_admin_command(self, args: list[str]) -> list[str]:
        """The exact command line :meth:`scratch_admin` runs for ``neo4j-admin ARGS`` (shown in previews)."""
        raise TargetError(f"the {self.name} target cannot verify backups")

    def scratch_admin(self, args: list[str]) -> AdminResult:
        """Run ``neo4j-admin ARGS`` against the scratch store in :meth:`scratch_dir` (set up on first use); paths
        under the scratch directory go through :meth:`scratch_path`. Never raises for a non-zero exit."""
        raise TargetError(f"the {self.name} target cannot verify backups")

    def scratch_path(self, path: Path) -> str:
        """``path`` (under :meth:`scratch_dir`, portal view) as the scratch neo4j-admin sees it."""
        return str(path)

    def scratch_counts(self) -> tuple[int, int] | None:
        """(nodes, relationships) of the scratch store, from a scratch server that only this process can reach and
        that is stopped again before returning; None when this target cannot count a scratch store."""
        return None

    def clear_scratch(self) -> list[str]:
        """Stop whatever scratch server still runs and remove the scratch directory; what was done."""
        scratch = self.scratch_dir()
        if not scratch.exists():
            return []
        shutil.rmtree(scratch, ignore_errors=True)
        return [f"removed {scratch}"] if not scratch.exists() else [f"could not remove {scratch}; remove it by hand"]

    # -- short outages: a snapshot dumped offline, a restore staged beside the live store (docs/outage.md) -------
    # A *side store* is a directory laid out like a data directory (``<root>/data/databases/<db>``,
    # ``<root>/data/transactions/<db>``) on the data directory's file system, so that it can be copied with shared
    # blocks and swapped in by rename. neo4j-admin runs on it with a scratch configuration whose data directory is
    # ``<root>/data``; the live server is never stopped for that. Targets implement the three ``side_*`` methods.
    SNAPSHOT = "portal-snapshot"
    STAGING = "portal-restore-staging"

    def snapshot_dir(self) -> Path:
        """Where a backup copies the stopped store, to dump it once Neo4j runs again (fixed: exact previews)."""
        return self.data_dir / self.SNAPSHOT

    def staging_dir(self) -> Path:
        """Where a restore loads its dump while the live store keeps serving."""
        return self.data_dir / self.STAGING

    def side_databases(self, root: Path) -> list[Path]:
        """The store and transaction-log directories of the database in the side store ``root``."""
        db = self.connection.database
        return [root / "data" / "databases" / db, root / "data" / "transactions" / db]

    def side_admin_command(self, root: Path, args: list[str]) -> list[str]:
        """The exact command line :meth:`side_admin` runs (shown in previews)."""
        raise TargetError(f"the {self.name} target cannot run neo4j-admin on a side store")

    def side_admin(self, root: Path, args: list[str]) -> AdminResult:
        """Run ``neo4j-admin ARGS`` on the side store ``root`` (a scratch configuration, set up on first use; paths
        under the backups directory as :meth:`admin_path` gives them). Never raises for a non-zero exit."""
        raise TargetError(f"the {self.name} target cannot run neo4j-admin on a side store")

    def neo4j_log_tail(self) -> str:
        """The end of Neo4j's own log (``neo4j.log``, or the container's output): "" where it cannot be read."""
        return ""

    def logged_restart(self) -> tuple[float | None, float | None]:
        """(seconds of Neo4j's last stop, of its last start) as its own log says; None for what it does not say."""
        return restart_in_log(self.neo4j_log_tail())

    def side_read(self, root: Path, statements: list[str]) -> list[list[list[Any]]]:
        """The rows each of ``statements`` (read-only Cypher, no parameters) returns on the side store ``root``, from
        a scratch server only this process reaches, stopped again before returning."""
        raise TargetError(f"the {self.name} target cannot read a side store")

    def side_counts(self, root: Path) -> tuple[int, int]:
        """(nodes, relationships) of the side store ``root`` (one scratch server start, as :meth:`side_read`)."""
        return counted(self.side_read(root, list(COUNT_STATEMENTS)))

    def stop_side(self, root: Path) -> list[str]:
        """Stop whatever still runs on the side store ``root`` (neo4j-admin, a counting server); what was done."""
        return []

    def checkpoint(self) -> str:
        """Ask the running server to checkpoint (so the stop that follows has little to flush); what happened.
        ``db.checkpoint()`` is an Enterprise procedure: Community answers ProcedureNotFound, and that is said."""
        try:
            self.query("CALL db.checkpoint()")
        except neo4j.exceptions.ClientError as exc:
            if "ProcedureNotFound" in (exc.code or ""):
                return "this Neo4j has no db.checkpoint() (Community edition): the stop checkpoints by itself"
            raise TargetError(f"the checkpoint failed: {exc.message}") from None
        return "checkpoint done"

    def snapshot_store(self, dest: Path) -> str:
        """Copy the database's store and transaction directories (the server stopped) into the side store ``dest``,
        sharing blocks where the file system can (``cp --reflink=auto -a``: owners and modes kept)."""
        shutil.rmtree(dest, ignore_errors=True)
        done = []
        for live, copy in zip(self.database_dirs(), self.side_databases(dest)):
            if not live.exists():
                continue
            copy.parent.mkdir(parents=True, exist_ok=True)
            proc = subprocess.run(["cp", "--reflink=auto", "-a", str(live), str(copy)], capture_output=True, text=True)
            if proc.returncode != 0:
                shutil.rmtree(dest, ignore_errors=True)
                raise TargetError(f"copying {live} to {copy} failed: {proc.stderr.strip()}")
            done.append(f"{live} -> {copy}")
        if not done:
            raise TargetError(f"found no database directories to copy under {self.data_dir}")
        self.fix_ownership([dest])
        return "\n".join(done)

    # -- online snapshots: the running store snapshotted by its storage (docs/snapshot-backups.md) ---------------
    def online_snapshot_method(self) -> tuple[Any, str]:
        """(how the running store can be snapshotted, or None; why not, in words) from the data directory and the
        settings (``operations/targets/snapshots.py``). Cheap: the backup's preview asks it."""
        return snapshots.method_for(self.data_dir)

    def online_snapshot_command(self, root: Path) -> list[str]:
        """The command that snapshots the running store into the side store ``root`` (for previews)."""
        method, why = self.online_snapshot_method()
        if method is None:
            return [f"# no online snapshot: {why}"]
        return snapshots.create_command(method, self.data_dir, root / "data")

    def take_online_snapshot(self, root: Path) -> str:
        """Snapshot the whole data directory of the running server, atomically, into the side store ``root``; keep
        only the database's store and transaction logs in it. The server is not stopped."""
        method, why = self.online_snapshot_method()
        if method is None:
            raise TargetError(f"cannot snapshot the running store: {why}")
        keep = [d.relative_to(self.data_dir) for d in self.database_dirs()]
        out = snapshots.create(method, self.data_dir, root, keep)
        self.fix_ownership([root / "data"])
        return out

    def remove_online_snapshot(self, root: Path) -> list[str]:
        """Remove the snapshot in the side store ``root`` the way it was made (nothing for a copied side store)."""
        return snapshots.remove(root, self.data_dir)

    def swap_in(self, staged: Path, aside: Path) -> list[str]:
        """With the server stopped: each live database directory is renamed into ``aside`` (a side store), then its
        staged twin in ``staged`` renamed into its place. Renames only; each pair independently, so
        :meth:`swap_back` can undo any prefix of it."""
        done = []
        for live, new, away in zip(self.database_dirs(), self.side_databases(staged), self.side_databases(aside)):
            away.parent.mkdir(parents=True, exist_ok=True)
            if live.exists():
                os.rename(live, away)
                done.append(f"{live} -> {away}")
            if new.exists():
                os.rename(new, live)
                done.append(f"{new} -> {live}")
        return done

    def swap_back(self, aside: Path) -> list[str]:
        """Undo :meth:`swap_in`, whatever part of it happened (the server stopped): where a directory was set aside,
        the loaded one in its place is removed and the set-aside one renamed back. Never mixes the two data sets:
        afterwards every live directory is the previous one."""
        done = []
        for live, away in zip(self.database_dirs(), self.side_databases(aside)):
            if not away.exists():
                continue
            if live.exists():
                shutil.rmtree(live)  # the loaded copy: the dump it came from is still in the catalog
                done.append(f"removed the loaded {live}")
            os.rename(away, live)
            done.append(f"moved {away} back to {live}")
        return done

    # -- shared behaviour -------------------------------------------------------------------------------
    def mask_password(self, text: str) -> str:
        """``text`` with the connection's password replaced (tools may echo their settings back)."""
        password = self.connection.password
        return text.replace(password, "********") if password else text

    def admin_path(self, path: Path) -> str:
        """``path`` (under ``backup_dir``, portal view) as neo4j-admin sees it."""
        relative = Path(path).resolve().relative_to(self.backup_dir.resolve())
        return str(self.admin_backup_dir.joinpath(*relative.parts))

    def database_dirs(self) -> list[Path]:
        """The store and transaction-log directories of the database, the two things a load replaces."""
        db = self.connection.database
        return [self.data_dir / "databases" / db, self.data_dir / "transactions" / db]

    def start(self) -> None:
        """Start the server and wait until the database answers over Bolt."""
        self.start_process()
        self.wait_for_bolt()

    def wait_for_bolt(self, timeout: float | None = None) -> None:
        """Wait until a query on the database succeeds (the database may still be starting after a load)."""
        limit = self.start_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                self.query("RETURN 1")
                return
            except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError, OSError) as exc:
                last = exc
                time.sleep(0.25)
        raise TargetError(
            mask_url(
                f"Neo4j did not answer on {self.connection.url} (database "
                f"{self.connection.database!r}) within {limit:.0f} s: {last}"
            )
        )

    def query(self, cypher: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
        """Run one parameterised query on a fresh connection (pooled ones go stale across restarts).

        Auto-commit and without the driver's retries: a retry loop with back-off would hide for seconds the moment
        the server answers again, which ``wait_for_bolt`` exists to notice.
        """
        c = self.connection
        with neo4j.GraphDatabase.driver(
            c.url, auth=(c.user, c.password), connection_timeout=5, max_connection_lifetime=60
        ) as driver:
            with driver.session(database=c.database) as session:
                return [list(r.values()) for r in session.run(cypher, params or {})]

    def counts(self) -> tuple[int, int]:
        """(nodes, relationships) in the database; the server must be up."""
        return bolt_counts(self.connection)


def not_owned_by(paths: list[Path], uid: int, gid: int) -> list[str]:
    """Every file and directory under ``paths`` (themselves included, links not followed) whose owner is not
    ``uid``:``gid``; OSError when one cannot be read."""

    def raise_it(exc: OSError) -> None:
        raise exc

    wrong = []
    for top in paths:
        if not top.exists():
            continue
        names = [str(top)]
        for root, dirs, files in os.walk(top, onerror=raise_it):
            names += [os.path.join(root, n) for n in dirs + files]
        for name in names:
            st = os.lstat(name)
            if (st.st_uid, st.st_gid) != (uid, gid):
                wrong.append(name)
    return wrong


def initial_password_args(password: str) -> list[str]:
    """``neo4j-admin`` (5.x) arguments setting the initial password; ``--`` first, so that a password beginning with
    ``-`` is not read as an option (docs/facts.md "neo4j-admin")."""
    return ["dbms", "set-initial-password", "--", password]


#: how Neo4j's log dates its lines (neo4j.log and the container's output): "2026-12-06 18:04:27.735+0000 INFO  ..."
LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}[+-]\d{4}) +INFO +(Starting|Started|Stopping|Stopped)\.")


def restart_in_log(text: str) -> tuple[float | None, float | None]:
    """(the last "Stopping..." to "Stopped." in seconds, the last "Starting..." to "Started.") in Neo4j's log."""
    began: dict[str, datetime] = {}
    took: dict[str, float] = {}
    for line in text.splitlines():
        match = LOG_LINE.match(line)
        if match is None:
            continue
        at, word = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S.%f%z"), match[2]
        if word in ("Starting", "Stopping"):
            began[word] = at
        elif (first := began.pop("Starting" if word == "Started" else "Stopping", None)) is not None:
            took[word] = (at - first).total_seconds()
    return took.get("Stopped"), took.get("Started")


#: the two counts every check of a store compares: nodes, relationships
COUNT_STATEMENTS = ("MATCH (n) RETURN count(n)", "MATCH ()-[r]->() RETURN count(r)")


def counted(results: list[list[list[Any]]]) -> tuple[int, int]:
    """(nodes, relationships) from the rows of :data:`COUNT_STATEMENTS` (the first two results)."""
    return int(results[0][0][0]), int(results[1][0][0])


def bolt_read(c: Connection, statements: list[str]) -> list[list[list[Any]]]:
    """The rows of each statement on the database ``c`` names, over one fresh connection."""
    with neo4j.GraphDatabase.driver(
        c.url, auth=(c.user, c.password), connection_timeout=5, max_connection_lifetime=60
    ) as driver:
        with driver.session(database=c.database) as session:
            return [[list(r.values()) for r in session.run(statement)] for statement in statements]


def bolt_counts(c: Connection) -> tuple[int, int]:
    """(nodes, relationships) in the database ``c`` names, over one fresh connection."""
    return counted(bolt_read(c, list(COUNT_STATEMENTS)))
