"""The operation lock: a portal operation that keeps a local Neo4j stopped for an offline job says so.

An operation that stops the server for an offline job (dump, load, version switch) holds an exclusive ``flock`` on a
lock file beside the server's pid file (``<run directory>/portal-operation.lock``) until it starts the server again
(or ends). Scripts that start the server can ask :func:`holder` and refuse while another process holds it (the
project's own instance manager does). The kernel drops the lock with its process, so a dead worker never leaves it
behind. A process holds it once per lock file, whichever object took it. See docs/reliability.md.

Standard library only: the dev tools import it before the virtualenv exists.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import Any

# lock file path -> the open file holding the operation lock in this process
_HELD: dict[str, Any] = {}


class LockHeld(RuntimeError):
    """Another process holds the lock; the message names it."""


def hold(path: Path, holder: str, what: str) -> None:
    """Take the lock for this process (a no-op when it has it already); ``what`` names the server in errors."""
    if str(path) in _HELD:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        other = fh.read().strip()
        fh.close()
        raise LockHeld(f"{what} is already held stopped by another portal operation: {other}") from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"pid {os.getpid()}: {holder}, since {time.strftime('%Y-%m-%d %H:%M:%S %Z')}\n")
    fh.flush()
    _HELD[str(path)] = fh


def release(path: Path) -> None:
    """Give the lock back (a no-op when this process does not hold it)."""
    fh = _HELD.pop(str(path), None)
    if fh is not None:
        fh.close()


def holder(path: Path) -> str | None:
    """Who holds the server stopped (the lock file's line), when another process holds the lock."""
    try:
        fh = open(path)
    except FileNotFoundError:
        return None
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = fh.read().strip() or "unknown holder"
            return None if text.startswith(f"pid {os.getpid()}:") else text
        fcntl.flock(fh, fcntl.LOCK_UN)
    return None
