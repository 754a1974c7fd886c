"""Copies that stay true (docs/offsite-encryption.md): the good off-site copies are re-checked where they are, a
rotating part at a time, so that a copy the remote lost or changed is found before a restore needs it.

Beat runs ``operations.offsite_recheck`` daily; each run takes the copies to the configured remote whose last check
is oldest, as many as spread them all over ``PORTAL_OFFSITE_RECHECK_DAYS``. A copy is checked like a new one: its
size, and the remote's own hash of it (SHA-256, SHA-1 or MD5, whichever the remote offers) against the one recorded
when it was copied; a remote that offers none has it read back and its SHA-256 compared with the stored bytes'. The
portal database copy beside it likewise (its SHA-256, from the remote or read back: it is small). A copy that differs or is gone becomes *damaged*: a restore no
longer fetches it, and the alerts sweep reports it (``offsite:<copy>``) until a new copy is made ("Copy off-site").
"""

from __future__ import annotations

import datetime as dt
import json
import math

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from operations.models import BackupCopy

from . import offsite


def problem_with(copy: BackupCopy) -> str:
    """Why the copy no longer checks out where it is; empty when it does. CopyError when the remote cannot be
    asked at all (unreachable: that says nothing about the copy)."""
    where = offsite.location(copy.remote, copy.path)
    directory = offsite.location(copy.remote, copy.backup.target)
    found = offsite.rclone("lsjson", "--files-only", "--hash", directory)  # raises when the remote is away
    entries = {e.get("Name"): e for e in json.loads(found)}
    entry = entries.get(copy.path.rsplit("/", 1)[-1])
    if entry is None:
        return f"{where} is gone"
    if copy.size is not None and entry.get("Size") not in (None, -1, copy.size):
        return f"{where} has {entry['Size']} bytes, {copy.size} were copied"
    if problem := _differs(where, entry, copy.checksum, copy.stored_sha256 or copy.backup.sha256):
        return problem
    if not copy.portal_db_path:
        return ""
    db_where = offsite.location(copy.remote, copy.portal_db_path)
    db_entry = entries.get(copy.portal_db_path.rsplit("/", 1)[-1])
    if db_entry is None:
        return f"{db_where} (the portal database copy) is gone"
    if copy.portal_db_sha256 and (problem := _differs(db_where, db_entry, "", copy.portal_db_sha256)):
        return f"{problem} (the portal database copy)"
    return ""


def _differs(where: str, entry: dict, recorded: str, stored_sha256: str) -> str:
    """Why the file at ``where`` (``entry``: its listing) is not the one copied: the remote's own hash of the kind
    recorded at the copy (``kind:value``) when it offers one, else its SHA-256 read back against ``stored_sha256``;
    empty when it is the same."""
    kind, _, value = recorded.partition(":")
    offered = {k.lower(): str(v).lower() for k, v in (entry.get("Hashes") or {}).items() if v}
    if kind and kind in offered:
        return "" if offered[kind] == value else f"{where} has {kind} {offered[kind]}, {value} was copied"
    if "sha256" in offered:
        read_back = offered["sha256"]
    else:
        out = offsite.rclone("hashsum", "sha256", "--download", where)
        read_back = out.split()[0].lower() if out.split() else ""
    return "" if read_back == stored_sha256 else f"{where} has SHA-256 {read_back or '?'}, {stored_sha256} was copied"


def due(now: dt.datetime) -> list[BackupCopy]:
    """This round's share of the copies to the configured remote, least recently checked first."""
    days = settings.OFFSITE_RECHECK_DAYS
    if days <= 0 or not offsite.configured():
        return []
    copies = BackupCopy.objects.filter(
        remote=offsite.remote(), state__in=[BackupCopy.State.OK, BackupCopy.State.DAMAGED]
    ).select_related("backup")
    share = math.ceil(copies.count() / days)
    return list(copies.order_by(F("checked_at").asc(nulls_first=True), "pk")[:share])


def recheck(copies: list[BackupCopy]) -> list[str]:
    """Check each copy where it is and record the outcome; what was found, one line each."""
    lines = []
    for copy in copies:
        try:
            problem = problem_with(copy)
        except offsite.CopyError as exc:
            lines.append(f"{copy.location}: not checked, the remote did not answer: {exc}")
            continue
        now = timezone.now()
        copy.checked_at = now
        if problem:
            copy.state, copy.error = BackupCopy.State.DAMAGED, f"re-check at {now:%Y-%m-%d %H:%M} UTC: {problem}"
            lines.append(f"{copy.location}: DAMAGED: {problem}")
        else:
            if copy.state == BackupCopy.State.DAMAGED:  # put right on the remote by hand
                copy.state, copy.error = BackupCopy.State.OK, ""
            lines.append(f"{copy.location}: as copied")
        copy.save(update_fields=["checked_at", "state", "error"])
    return lines


def recheck_due(now: dt.datetime | None = None) -> str:
    """Beat's daily round; what was done, in words."""
    if settings.OFFSITE_RECHECK_DAYS <= 0:
        return "off (PORTAL_OFFSITE_RECHECK_DAYS=0)"
    if not offsite.configured():
        return "off-site copies are off (PORTAL_OFFSITE_REMOTE is empty)"
    lines = recheck(due(now or timezone.now()))
    return "\n".join(lines) or "no copy to re-check"
