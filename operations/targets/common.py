"""What the target modules pass around and that needs no :class:`~operations.targets.base.Target`: the connection
to a target's database, a finished neo4j-admin (or other tool) run, and the error a target raises.

The bottom of ``operations/targets/``: it imports no other module of the package, so every one of them (the snapshot
helpers, alchemiscale's CLI, the targets) can import it at its top. ``base.py`` re-exports all of it.
"""

from __future__ import annotations

import dataclasses
import shlex
import signal


class TargetError(RuntimeError):
    """The target could not do what was asked; the message says what and why, for staff."""


@dataclasses.dataclass(frozen=True)
class AdminResult:
    """One finished neo4j-admin run: the exact command line, its exit code, stdout and stderr together."""

    command: list[str]
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def killed_by_signal(self) -> bool:
        """Whether a signal ended the tool (OOM killer, an operator's kill), as opposed to the tool giving up."""
        code = self.returncode
        return code < 0 or code in (128 + signal.SIGKILL, 128 + signal.SIGTERM)

    def exit_description(self) -> str:
        """How the tool ended, for staff: 'exited with 1', or which signal killed it and what that usually means
        (a local process reports signal N as -N, a container as 128 + N)."""
        code = self.returncode
        number = -code if code < 0 else code - 128 if code > 128 else 0
        try:
            name = signal.Signals(number).name if number else ""
        except ValueError:
            name = ""
        if not name:
            return f"exited with {code}"
        head = (
            f"was killed by signal {number} ({name})"
            if code < 0
            else f"exited with {code}, the code of a process killed by signal {number} ({name})"
        )
        return f"{head}: {SIGNAL_MEANINGS.get(name, 'something outside the portal ended it')}"


SIGNAL_MEANINGS = {
    "SIGKILL": "usually the machine ran out of memory (the kernel's out-of-memory killer: see `dmesg`, or the "
    "container's OOMKilled) or an operator's kill -9",
    "SIGTERM": "usually an operator, a service manager or the machine shutting down",
    "SIGINT": "usually someone pressing Ctrl-C",
    "SIGSEGV": "the Java process crashed (see hs_err_pid*.log in the Neo4j home)",
    "SIGABRT": "the Java process aborted (see hs_err_pid*.log in the Neo4j home)",
}


@dataclasses.dataclass(frozen=True)
class Connection:
    """How to reach the target's database over Bolt (alchemiscale's NEO4J_* settings by default)."""

    url: str
    user: str
    password: str
    database: str


def command_text(command: list[str]) -> str:
    """A command line as a shell would read it, for messages and previews."""
    return " ".join(shlex.quote(c) for c in command)
