"""Files and catalog, set right again when they drifted apart (docs/backups.md, "When files and catalog disagree").

A process that dies between writing a file and recording it, or between removing one and recording that, leaves the
backups directory and the catalog disagreeing. Three kinds, each with its repair:

- **a dump without a catalog row** (a backup killed between naming its dump and cataloguing it; a dump put back by
  hand): when it begins like a dump (Neo4j's zstd dump header ``DZV1``, or gzip's, which older dumps use) it is
  catalogued as *found*, with its size and SHA-256, its date from its name, a portal database copy beside it if
  there is one, and a note saying what is not known (its counts; its Neo4j version is taken to be the target's).
  Verify it to know it loads. A file under a dump's name that does not begin like one is moved aside into
  ``<backups>/orphans/``, never deleted and never catalogued;
- **leftovers of an interrupted transfer**: ``.fetching-<dump>`` (a restore's download of an off-site copy whose
  rclone outlived its worker) and ``.in-progress-<target>/`` (an unfinished dump or portal database copy): removed,
  they never are a backup;
- **a catalog row whose dump is gone** (a prune killed after removing the files, before its transaction committed)
  and that has no good off-site copy to fetch either: marked missing (``Backup.missing_since``), never deleted; the
  mark goes when the file is back.

:func:`find` only reads (the directory and the catalog) and says what is wrong; :func:`repair` acts on what it found,
and does nothing while a run is running (a running backup names its dump a moment before it catalogues it; a running
restore writes ``.fetching-`` files). Both run on a worker's start (registered with the run machinery's start-up
registry in this app's ``ready()``) and on request: ``manage.py reconcile_backups [--dry-run]``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import shutil
from pathlib import Path

from django.utils import timezone

from operations.models import Backup, BackupCopy, OperationRun, RunStatus
from operations.models.backups import FILE_NAME
from operations.targets import Target, get_target

from .portal_db import OWNER_ONLY_DIR, SUFFIXES
from .procedures.dumps import in_progress_dir, sha256_of

logger = logging.getLogger(__name__)

#: how a dump file begins: Neo4j's zstd format (4.4 and 5) writes this header; gzip's magic for older dumps
DUMP_HEADERS = (b"DZV1", b"\x1f\x8b")
ORPHANS = "orphans"
FETCHING = ".fetching-"
#: who is named on what reconcile changes (the catalog row's "requested by")
LABEL = "reconcile"


class Kind:
    UNCATALOGUED = "uncatalogued"
    UNREADABLE = "unreadable"
    PARTIAL = "partial"
    MISSING = "missing"
    BACK = "back"


@dataclasses.dataclass(frozen=True)
class Finding:
    kind: str
    #: the file or directory concerned (None for a row whose file is gone: ``backup`` names it)
    path: Path | None
    backup: Backup | None
    why: str

    def line(self) -> str:
        subject = f"#{self.backup.pk} {self.backup.file_name}" if self.backup is not None else str(self.path)
        return f"{self.kind}: {subject}: {self.why}"


def dump_header_ok(path: Path) -> tuple[bool, str]:
    """(whether the file begins like a dump, why not)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        return False, f"it cannot be read ({exc.strerror})"
    if not any(head.startswith(h) for h in DUMP_HEADERS):
        return False, f"it does not begin like a dump (first bytes {head.hex() or 'none: empty'})"
    return True, ""


def find(target: Target) -> list[Finding]:
    """What disagrees between the target's backups directory and its catalog; changes nothing."""
    target_name, backup_dir = target.name, target.backup_dir
    findings: list[Finding] = []
    names = sorted(os.listdir(backup_dir)) if backup_dir.is_dir() else []
    # Any target's row counts: targets may share one backups directory, and a row of another is not an orphan.
    catalogued = set(Backup.objects.filter(file_name__in=names).values_list("file_name", flat=True))
    for name in names:
        path = backup_dir / name
        if FILE_NAME.fullmatch(name) and name not in catalogued and path.is_file():
            ok, why = dump_header_ok(path)
            if ok:
                findings.append(Finding(Kind.UNCATALOGUED, path, None, "a complete dump with no catalog row"))
            else:
                findings.append(Finding(Kind.UNREADABLE, path, None, f"named like a dump, but {why}"))
        elif name.startswith(FETCHING):
            findings.append(Finding(Kind.PARTIAL, path, None, "an off-site copy's download that never finished"))
    unfinished = in_progress_dir(target)
    if unfinished.exists():
        findings.append(Finding(Kind.PARTIAL, unfinished, None, "an unfinished dump or portal database copy"))
    with_copies = set(
        BackupCopy.objects.filter(backup__target=target_name, state=BackupCopy.State.OK).values_list(
            "backup_id", flat=True
        )
    )
    for backup in Backup.objects.filter(target=target_name).order_by("created_at", "pk"):
        there = (backup_dir / backup.file_name).is_file() if FILE_NAME.fullmatch(backup.file_name) else False
        if not there and backup.pk not in with_copies and backup.missing_since is None:
            findings.append(
                Finding(Kind.MISSING, None, backup, f"its dump is gone from {backup_dir} and it has no off-site copy")
            )
        elif there and backup.missing_since is not None:
            findings.append(Finding(Kind.BACK, None, backup, f"its dump is in {backup_dir} again"))
    return findings


def running_run(target_name: str) -> OperationRun | None:
    """A run running on the target: while it does, files and catalog may disagree for a moment by design."""
    return OperationRun.objects.filter(target=target_name, status=RunStatus.RUNNING).order_by("pk").first()


def repair(findings: list[Finding], target: Target) -> list[str]:
    """Act on ``find``'s findings; one line per finding, what was done."""
    busy = running_run(target.name)
    if busy is not None:
        return [f"{f.line()}: left as it is, {busy.kind} #{busy.pk} is running on {target.name}" for f in findings]
    try:
        version = target.neo4j_version()  # recorded on found dumps; known without the server running
    except Exception:  # an unreachable Docker engine: the found row says the version is unknown
        version = ""
    lines = []
    for finding in findings:
        try:
            done = _repair_one(finding, target.name, target.connection.database, version)
        except OSError as exc:
            done = f"NOT repaired: {exc}"
        lines.append(f"{finding.line()}: {done}")
    return lines


def _repair_one(finding: Finding, target_name: str, database: str, neo4j_version: str) -> str:
    now = timezone.now()
    if finding.kind == Kind.UNCATALOGUED:
        assert finding.path is not None
        backup = catalog_found(finding.path, target_name, database, neo4j_version, now)
        return f"catalogued as #{backup.pk} (found), {backup.size} bytes, SHA-256 {backup.sha256}"
    if finding.kind == Kind.UNREADABLE:
        assert finding.path is not None
        return f"moved aside to {move_aside(finding.path)}"
    if finding.kind == Kind.PARTIAL:
        assert finding.path is not None
        if finding.path.is_dir():
            shutil.rmtree(finding.path)
        else:
            finding.path.unlink(missing_ok=True)
        return "removed"
    assert finding.backup is not None
    if finding.kind == Kind.MISSING:
        Backup.objects.filter(pk=finding.backup.pk, missing_since=None).update(missing_since=now)
        return f"marked missing since {now:%Y-%m-%d %H:%M:%S} UTC (the row stays)"
    Backup.objects.filter(pk=finding.backup.pk).update(missing_since=None)
    return "no longer marked missing"


def catalog_found(path: Path, target_name: str, database: str, neo4j_version: str, now: dt.datetime) -> Backup:
    stamp = path.name.removeprefix("neo4j-")[:15]
    created = dt.datetime.strptime(stamp, "%Y%m%d-%H%M%S").replace(tzinfo=dt.UTC)
    version_note = (
        f"its Neo4j version is taken to be the target's ({neo4j_version})"
        if neo4j_version
        else "its Neo4j version is unknown"
    )
    backup = Backup(
        file_name=path.name,
        target=target_name,
        database=database,
        size=path.stat().st_size,
        sha256=sha256_of(path),
        neo4j_version=neo4j_version,
        purpose=Backup.Purpose.FOUND,
        procedure=Backup.Procedure.UNKNOWN,
        created_at=created,
        requested_by_label=LABEL,
        verification_detail=(
            f"found in the backups directory without a catalog row on {now:%Y-%m-%d %H:%M} UTC: its node and "
            f"relationship counts are unknown and {version_note}; verify it to know it loads"
        ),
    )
    for suffix in SUFFIXES.values():
        beside = path.with_name(path.name.removesuffix(".dump") + suffix)
        if beside.is_file():
            backup.portal_db_file, backup.portal_db_size = beside.name, beside.stat().st_size
            backup.portal_db_sha256 = sha256_of(beside)
            break
    backup.save()
    return backup


def move_aside(path: Path) -> Path:
    """Into ``<backups>/orphans/`` (owner-only), under its own name or with ``-<n>`` added; never replaces a file."""
    orphans = path.parent / ORPHANS
    orphans.mkdir(mode=OWNER_ONLY_DIR, exist_ok=True)
    for n in range(1000):
        dest = orphans / (path.name if n == 0 else f"{path.name}-{n}")
        try:
            os.link(path, dest)
        except FileExistsError:
            continue
        path.unlink()
        return dest
    raise OSError(f"no free name for {path.name} in {orphans}")


def reconcile(target: Target, *, dry_run: bool = False) -> list[str]:
    """Find, and unless ``dry_run`` repair; the lines to show."""
    findings = find(target)
    if dry_run:
        return [f.line() for f in findings]
    return repair(findings, target)


def at_worker_start() -> None:
    """On a worker's start (after its runs were recovered): reconcile its target, logging what was done."""
    target = get_target()
    for line in reconcile(target):
        logger.warning("backups reconciled on %s: %s", target.name, line)
