"""Steps that keep Neo4j's outage as short as a restart (docs/outage.md).

A backup stops Neo4j only to copy the store to a *snapshot* beside it (``cp --reflink=auto``: shared blocks where
the file system can, a fast copy elsewhere) and dumps the snapshot once Neo4j runs again; a restore loads its dump
into a *staging* store while the live one serves, checks it, and stops Neo4j only to swap directories by rename.
Both are side stores of the target (:meth:`~operations.targets.Target.snapshot_dir`,
:meth:`~operations.targets.Target.staging_dir`), on the data directory's file system.

The run's state says where the outage stands: ``outage_started`` when a step stops Neo4j, ``outage_ended`` when
it answers again (operations/runs/outage.py); the portal's "state store unavailable" page reads them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from django.conf import settings

from operations.humanize import human_size
from operations.runs.contract import OperationFailed, RunContext
from operations.runs.outage import expected_outage
from operations.targets import AdminResult, Target, TargetError

from . import dumps

#: room asked for on the data directory's file system beyond the store's size (a copy without shared blocks)
SNAPSHOT_MARGIN = 1.10


def store_size(target: Target) -> int:
    """Bytes the database's store and transaction directories take on disk."""
    return dumps._tree_size(target.database_dirs())


def snapshot_room(target: Target) -> tuple[bool, str]:
    """(room for a snapshot?, the figures in words) on the data directory's file system."""
    try:
        free = shutil.disk_usage(target.data_dir).free
    except OSError as exc:
        return False, f"the data directory {target.data_dir} cannot be read ({exc.strerror})"
    keep = settings.SNAPSHOT_KEEP_FREE_MB << 20
    need = int(store_size(target) * SNAPSHOT_MARGIN) + keep
    words = (
        f"{target.data_dir}: {human_size(free)} free; a snapshot of the store needs up to "
        f"{human_size(need - keep)} and {human_size(keep)} must stay free (PORTAL_SNAPSHOT_KEEP_FREE_MB)"
    )
    return free >= need, words


def outage_words(target: Target, kind: str) -> str:
    """How long Neo4j is expected to be unavailable in a ``kind`` run: as in the last such run; before the first,
    at least one restart of this Neo4j as its own log timed its last stop and start."""
    seconds = expected_outage(target.name, kind)
    if seconds is not None:
        return f"about {seconds:.0f} s, as in the last {kind}"
    try:
        stop, start = target.logged_restart()
    except Exception:  # the log is a guide only: a preview never fails for it
        stop, start = None, None
    if start is None:
        return f"about one restart of Neo4j (no earlier {kind} to go by, and Neo4j's log does not time its last start)"
    stopped = f"stop {stop:.1f} s, " if stop is not None else ""
    return (
        f"about {(stop or 0) + start:.0f} s or a little more: one restart of this Neo4j as its log timed the last "
        f"({stopped}start {start:.1f} s); no earlier {kind} to go by"
    )


def side_admin(ctx: RunContext, root: Path, args: list[str], failure: str) -> AdminResult:
    """neo4j-admin on a side store, logged like :meth:`RunContext.admin`; OperationFailed on a non-zero exit."""
    ctx.log("$ " + " ".join(ctx.target.side_admin_command(root, args)))
    result = ctx.target.side_admin(root, args)
    ctx.output(result.output)
    if not result.ok:
        tail = "\n".join(result.output.strip().splitlines()[-5:])
        raise OperationFailed(f"{failure}: neo4j-admin {result.exit_description()}" + (f": {tail}" if tail else ""))
    return result


def dump_side(ctx: RunContext, root: Path) -> str:
    """Dump the side store ``root`` to the in-progress name (as a dump of the live store would be)."""
    target = ctx.target
    work = dumps.in_progress_dir(target)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    target.fix_ownership([work])
    written = work / f"{target.connection.database}.dump"
    try:
        side_admin(ctx, root, dumps.dump_args(target), "the dump failed")
        if not written.is_file():
            raise OperationFailed(f"neo4j-admin reported success but {written} is missing")
        with open(written, "rb") as fh:
            os.fsync(fh.fileno())
    except BaseException:
        dumps.remove_partial_dump(ctx)
        raise
    return f"{human_size(written.stat().st_size)} written to {written}"


def clear_side(target: Target, root: Path) -> list[str]:
    """Stop what runs on the side store ``root`` and remove it."""
    if not root.exists():
        return []
    done = target.stop_side(root)
    try:
        done += target.remove_online_snapshot(root)  # a subvolume or a mounted snapshot: removed as it was made
    except TargetError as exc:
        done.append(str(exc))
    shutil.rmtree(root, ignore_errors=True)
    done.append(f"removed {root}" if not root.exists() else f"could not remove {root}; remove it by hand")
    return done
