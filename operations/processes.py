"""Processes on this machine, as the portal and its dev tools see them from pids alone.

Standard library only and no Django: the dev tools import it before the virtualenv exists.
"""

from __future__ import annotations

import os


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs. A zombie counts as gone: it has exited and only waits for its parent to
    collect its status, yet still answers kill(0). A process of another user counts as alive: kill(0) is refused
    only because the pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            # The state follows the command name, which may itself hold spaces and parentheses.
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
