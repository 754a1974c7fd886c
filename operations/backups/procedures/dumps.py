"""Steps shared by the procedures that write a dump (backup, and restore's safety copy).

Writing a backup, safely: neo4j-admin dumps into ``<backups>/.in-progress-<target>/<db>.dump``; only a complete dump
is hard-linked to its final name ``neo4j-<UTC date-time>.dump`` (a link never replaces an existing file, so nothing
is ever overwritten), and the in-progress directory is removed. A failed or interrupted dump never has a final name.
The in-progress directory is fixed per target, so a preview can show the exact commands (one operation at a time
runs on a target, so it cannot be shared). A dump that fails removes what it wrote at once, so a full disk is not
left full; a run refuses before stopping anything when the backups directory has less room than the dump is
expected to need (see docs/reliability.md).
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
from datetime import datetime
from pathlib import Path

from django.utils import timezone

from operations.humanize import human_size
from operations.models import Backup
from operations.runs import outage as run_outage
from operations.runs.contract import OperationFailed, RunContext, Step
from operations.targets import Target, TargetError

from .. import portal_db
from ..portal_db import OWNER_ONLY_DIR, OWNER_ONLY_FILE

CHUNK = 4 << 20
#: room asked for beyond the last dump of the store: stores grow between backups
DUMP_GROWTH_MARGIN = 1.25


def in_progress_dir(target: Target) -> Path:
    return target.backup_dir / f".in-progress-{target.name}"


def dump_args(target: Target) -> list[str]:
    if target.neo4j_version().startswith("4."):
        # Neo4j 4.4's neo4j-admin has its own dump syntax and takes the file's name (docs/facts.md).
        out = in_progress_dir(target) / f"{target.connection.database}.dump"
        return ["dump", f"--database={target.connection.database}", f"--to={target.admin_path(out)}"]
    return ["database", "dump", target.connection.database, f"--to-path={target.admin_path(in_progress_dir(target))}"]


def _tree_size(paths: list[Path]) -> int:
    """Bytes the files under ``paths`` take on disk (allocated blocks: sparse files count for what they hold)."""
    total = 0
    for top in paths:
        for root, _, files in os.walk(top):
            for name in files:
                try:
                    total += os.lstat(os.path.join(root, name)).st_blocks * 512
                except OSError:
                    pass
    return total


def expected_dump_size(target: Target) -> tuple[int, str]:
    """(bytes, how they were estimated) a dump of the target's store is expected to need: the last catalogued
    dump of this store with a margin for growth; without one, the store files' size on disk (a dump is compressed
    and usually smaller; transaction logs are left out, Neo4j preallocates them)."""
    last = (
        Backup.objects.filter(target=target.name, database=target.connection.database)
        .order_by("-created_at", "-pk")
        .first()
    )
    if last is not None:
        return (
            int(last.size * DUMP_GROWTH_MARGIN),
            f"the last dump of this store ({last.file_name}, {human_size(last.size)}) plus "
            f"{DUMP_GROWTH_MARGIN - 1:.0%}",
        )
    store = _tree_size(target.database_dirs()[:1])
    return store, f"the store's size on disk ({target.database_dirs()[0]}); there is no earlier dump to go by"


def check_backup_dir(ctx: RunContext) -> str:
    """The backups directory exists (created if missing), is writable by us, and has room; clear words if not."""
    target = ctx.target
    directory = target.backup_dir
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".write-test-{target.name}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        why = {
            errno.EROFS: "it is on a read-only file system",
            errno.EACCES: "permission denied",
            errno.EPERM: "permission denied",
            errno.ENOTDIR: "a part of its path is a file, not a directory",
            errno.ENOSPC: "the disk is full",
        }.get(exc.errno or 0, exc.strerror or str(exc))
        raise OperationFailed(
            f"the backups directory {directory} cannot be written ({why}); nothing was stopped "
            f"or changed. Fix the directory (PORTAL_BACKUP_DIR) and try again"
        ) from None
    leftover = in_progress_dir(target)
    owner_only, note = make_backup_dir_owner_only(target)
    notes = [note]
    if not owner_only:
        ctx.log(note, "warning")
    if leftover.exists():
        # Only ever an unfinished dump of an earlier run: never a backup, so safe to clear.
        shutil.rmtree(leftover)
        notes.append(f"removed the unfinished dump left in {leftover}")
    free = shutil.disk_usage(directory).free
    expected, basis = expected_dump_size(target)
    notes.append(f"{directory}: {human_size(free)} free; the dump is expected to need {human_size(expected)} ({basis})")
    if free < expected:
        short = (
            f"the backups directory {directory} has {human_size(free)} free, less than the "
            f"{human_size(expected)} the dump is expected to need ({basis})"
        )
        if not ctx.run.params.get("ignore_free_space"):
            override = (
                " or ask again with the override (manage.py backup --ignore-free-space) if the dump will fit"
                if ctx.run.kind == "backup"
                else ""
            )
            raise OperationFailed(f"{short}; nothing was stopped or changed. Make room{override}")
        ctx.log(f"{short}; going on as asked (ignore free space)", "warning")
    return "\n".join(notes)


def make_backup_dir_owner_only(target: Target) -> tuple[bool, str]:
    """The backups directory 0700 and given to the data owner, with what is in it: neo4j-admin runs as that owner
    (in a container, or switched to by a root worker) and must enter it; the worker, root or that owner, still can.
    (done, what was done or why not): a worker that is neither leaves it as it is (it would lock itself out)."""
    directory = target.backup_dir
    mine = os.geteuid()
    try:
        owners = {directory.stat().st_uid, target.data_dir.stat().st_uid}
    except OSError:  # a data directory this process cannot see: it cannot tell who the data owner is
        owners = set()
    if mine != 0 and owners != {mine}:
        return False, (
            f"{directory} keeps mode {stat.filemode(directory.stat().st_mode)}: this worker (uid {mine}) is neither "
            f"root nor the data owner, so it cannot make it readable by its owner only"
        )
    try:
        done = target.fix_ownership([directory])
        os.chmod(directory, OWNER_ONLY_DIR)
    except (OSError, TargetError) as exc:
        return False, f"{directory} could not be made readable by its owner only: {exc}"
    return True, f"{directory}: mode 0700; {done}"


def record_state(ctx: RunContext) -> str:
    """Whether Neo4j runs (so it is started again afterwards) and what the store holds now."""
    target = ctx.target
    was_running = target.is_up()
    crashed = None if was_running else target.crash_evidence()
    facts = {
        "was_running": was_running,
        "neo4j_version": target.neo4j_version(),
        "nodes": None,
        "relationships": None,
        "neo4j_crashed": crashed,
    }
    if crashed:
        # Not stopped on purpose, so meant to be running. neo4j-admin refuses to dump a store that was not shut
        # down cleanly: starting Neo4j recovers it; it is then stopped, dumped and started again like any backup.
        warning = (
            f"Neo4j HAD CRASHED before this run: {crashed}. It was started again to recover the store before the dump"
        )
        ctx.remember(neo4j_crashed=crashed, warnings=[*ctx.state.get("warnings", []), warning])
        ctx.log(warning, "error")
        target.start()
        facts["was_running"] = was_running = True
    if was_running:
        target.wait_for_bolt()
        facts["nodes"], facts["relationships"] = target.counts()
    ctx.remember(**facts)
    if crashed:
        return (
            f"Neo4j HAD CRASHED: {crashed}\nstarted it again (store recovered): {facts['nodes']} nodes, "
            f"{facts['relationships']} relationships"
        )
    if not was_running:
        ctx.log(
            "Neo4j is not running: the backup cannot record node and relationship counts, and Neo4j will be "
            "left stopped",
            "warning",
        )
        return "Neo4j is not running"
    return f"Neo4j {facts['neo4j_version']} running; {facts['nodes']} nodes, {facts['relationships']} relationships"


def stop(ctx: RunContext) -> str:
    if not ctx.target.is_up():
        ctx.target.hold_stopped()  # it stays down while the offline job runs
        return "Neo4j was not running"
    ctx.remember(stopped=True)
    run_outage.began(ctx)
    ctx.stopping_neo4j()
    ctx.target.stop()
    return "Neo4j stopped"


def dump(ctx: RunContext) -> str:
    target = ctx.target
    work = in_progress_dir(target)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(mode=OWNER_ONLY_DIR)
    target.fix_ownership([work])  # neo4j-admin runs as the data owner and must be able to write here
    ctx.remember(dump_started=timezone.now().isoformat())
    written = work / f"{target.connection.database}.dump"
    try:
        ensure_still_stopped(ctx, "the dump")
        ctx.admin(dump_args(target), "the dump failed")
        ensure_still_stopped(ctx, "the dump")
        if not written.is_file():
            raise OperationFailed(f"neo4j-admin reported success but {written} is missing")
        with open(written, "rb") as fh:
            os.fsync(fh.fileno())
    except BaseException:
        remove_partial_dump(ctx)
        raise
    return f"{human_size(written.stat().st_size)} written to {written}"


def ensure_still_stopped(ctx: RunContext, job: str) -> None:
    """An offline job's store must stay closed: fail when the server is running again under it."""
    if ctx.target.is_up():
        raise OperationFailed(
            f"Neo4j is running again although this run stopped it for {job}: something outside "
            f"the portal started it. Its result cannot be trusted and is discarded; find what "
            f"starts Neo4j (scripts respecting the operation lock do not) and try again"
        )


def remove_partial_dump(ctx: RunContext) -> None:
    """After a failed dump: remove what it wrote (on a full disk, the partial file is what fills it)."""
    work = in_progress_dir(ctx.target)
    if not work.exists():
        return
    size = _tree_size([work])
    shutil.rmtree(work, ignore_errors=True)
    if work.exists():
        ctx.log(f"could not remove the partial dump in {work}; remove it by hand", "error")
    else:
        ctx.log(f"removed the partial dump in {work} ({human_size(size)})", "warning")


def start_again(ctx: RunContext) -> str:
    """Start Neo4j if it was running before (whatever happened in between) and wait for Bolt."""
    if not ctx.state.get("was_running"):
        if ctx.target.is_up():
            return "Neo4j is running (this run did not stop it)"
        return "Neo4j was not running before; left stopped"
    ctx.starting_neo4j()
    ctx.target.start()
    run_outage.ended(ctx)
    return "Neo4j is up and answers over Bolt"


def final_name(ctx: RunContext) -> str:
    """Give the complete dump its final name; never replaces a file."""
    target = ctx.target
    written = in_progress_dir(target) / f"{target.connection.database}.dump"
    # Named for the moment the store was dumped: that is the state it holds.
    dumped = ctx.state.get("dump_started")
    stamp = (datetime.fromisoformat(dumped) if dumped else timezone.now()).strftime("%Y%m%d-%H%M%S")
    for n in range(100):
        name = f"neo4j-{stamp}.dump" if n == 0 else f"neo4j-{stamp}-{n}.dump"
        try:
            os.link(written, target.backup_dir / name)
        except FileExistsError:
            continue
        break
    else:
        raise OperationFailed(f"could not find a free name for the dump in {target.backup_dir}")
    shutil.rmtree(in_progress_dir(target))
    note = make_owner_only(target.backup_dir / name)
    if note:
        ctx.log(note, "warning")
    dir_fd = os.open(target.backup_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    ctx.remember(file_name=name)
    return f"saved as {target.backup_dir / name}"


def make_owner_only(dump: Path) -> str:
    """The dump 0600: neo4j-admin (in a container, or as the data owner) wrote it by its own umask. A warning's
    words when this process may not change it (neither root nor its owner)."""
    if os.geteuid() not in (0, dump.stat().st_uid):
        return f"{dump} keeps mode {stat.filemode(dump.stat().st_mode)}: run the worker as root or as the data owner"
    os.chmod(dump, OWNER_ONLY_FILE)
    return ""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def catalog(ctx: RunContext, purpose: str, procedure: str = Backup.Procedure.OFFLINE) -> Backup:
    """Checksum the named dump and add it to the catalog, with how it was taken (``procedure``)."""
    target = ctx.target
    path = target.backup_dir / ctx.state["file_name"]
    backup = Backup.objects.create(
        file_name=path.name,
        target=target.name,
        database=target.connection.database,
        size=path.stat().st_size,
        sha256=sha256_of(path),
        neo4j_version=ctx.state["neo4j_version"],
        node_count=ctx.state["nodes"],
        relationship_count=ctx.state["relationships"],
        purpose=purpose,
        procedure=procedure,
        made_by_run=ctx.run,
        requested_by=ctx.run.requested_by,
        requested_by_label=ctx.run.requested_by_label,
    )
    ctx.remember(backup_id=backup.pk)
    return backup


def copy_portal_db(ctx: RunContext) -> str:
    """The portal's own database, copied beside the dump just catalogued and recorded on its catalog row.

    Taken after the catalog row is written, so the copy holds it. Not required: a copy that fails leaves the Neo4j
    backup good and catalogued, with no copy recorded (docs/portal-database-backup.md).
    """
    backup = Backup.objects.get(pk=ctx.state["backup_id"])
    try:
        copy = portal_db.copy_portal_database(ctx.target.backup_dir, backup.file_name, in_progress_dir(ctx.target))
    except portal_db.CopyFailed as exc:
        raise OperationFailed(f"the portal's database was not copied: {exc}") from None
    Backup.objects.filter(pk=backup.pk).update(
        portal_db_file=copy.path.name, portal_db_size=copy.size, portal_db_sha256=copy.sha256
    )
    return f"{copy.detail}\nsaved as {copy.path}, {human_size(copy.size)}, sha256 {copy.sha256}"


def portal_db_step(target: Target, *, prefix: str = "") -> Step:
    return Step(
        f"{prefix}copy the portal's database",
        copy_portal_db,
        f"a consistent copy of the portal's own database as {target.backup_dir}/neo4j-<UTC date-time>"
        f".portal.sqlite3 (SQLite) or .portal.pgdump (PostgreSQL), its SHA-256 in the catalog; if this "
        f"fails the Neo4j backup still stands, with a warning",
        required=False,
    )


def clear_in_progress(ctx: RunContext) -> list[str]:
    """After a crash: an unfinished dump is not a backup; remove it."""
    work = in_progress_dir(ctx.target)
    if work.exists():
        shutil.rmtree(work)
        return [f"removed the unfinished dump in {work}"]
    return []


def dump_steps(target: Target, *, prefix: str = "") -> list[Step]:
    """Stop, dump under the temporary name; the caller starts Neo4j again and names the file."""
    return [
        Step(f"{prefix}stop Neo4j", stop, "stop the server; offline dumps need it stopped"),
        Step(
            f"{prefix}dump",
            dump,
            f"dump database {target.connection.database!r} to "
            f"{in_progress_dir(target)}/{target.connection.database}.dump (a temporary name)",
            commands=[target.admin_command(dump_args(target))],
        ),
    ]
