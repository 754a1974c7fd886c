"""alchemiscale's own command line, run against a target's Neo4j: the small interface the schema migrations use.

Where alchemiscale's CLI (``alchemiscale database migrate v03-to-v04``) runs depends on where Neo4j is, so each
target chooses its implementation (``Target.alchemiscale_cli``):

- :class:`LocalAlchemiscaleCli` (the local target): the command ``PORTAL_ALCHEMISCALE_CLI`` (default
  ``alchemiscale``) on this machine, with the target's connection in its environment;
- ``ComposeAlchemiscaleCli`` (the Docker target, ``operations/targets/docker/alchemiscale.py``): a one-off container
  of the alchemiscale-server image on the compose deployment's database network, as the operations guide runs it.

Both hand alchemiscale its connection the way alchemiscale reads it (docs/facts.md): ``NEO4J_URL``, ``NEO4J_USER``,
``NEO4J_PASS``, ``NEO4J_DBNAME`` in the environment, never the password on the command line.

**Stand-ins.** alchemiscale cannot be installed everywhere (not on the project's own machines: gufe is not on PyPI),
so the project's dev and test scripts run a stand-in that does the same to the graph. The portal says "STAND-IN" on
screen and in the migration record when :meth:`AlchemiscaleCli.is_standin` is true: for a local command when
``PORTAL_ALCHEMISCALE_CLI_STANDIN`` is on (the scripts set it with the command), for an image when it carries the
label ``STANDIN_LABEL`` (docs/facts.md, "alchemiscale's CLI"). Nothing here knows the stand-in itself.
"""

from __future__ import annotations

import abc
import os
import shlex
import shutil
import subprocess
from typing import Protocol

from django.conf import settings

from .common import AdminResult, Connection, TargetError

#: the image label that marks an image as a stand-in for alchemiscale-server rather than alchemiscale itself
STANDIN_LABEL = "org.alchemiscale-portal.standin"


class CliTarget(Protocol):
    """What the CLI needs of its target (every :class:`~operations.targets.base.Target` has it): named here rather
    than imported, because base.py imports this module."""

    connection: Connection

    def mask_password(self, text: str) -> str: ...


class AlchemiscaleCli(abc.ABC):
    """``alchemiscale ARGS`` against ``target``'s Neo4j (its connection is read at each call)."""

    def __init__(self, target: CliTarget):
        self.target = target

    @abc.abstractmethod
    def problems(self) -> list[str]:
        """Why the CLI cannot run against this target (empty when it can): checked before a run."""

    @abc.abstractmethod
    def command(self, args: list[str]) -> list[str]:
        """The exact command line :meth:`run` runs for ``alchemiscale ARGS`` (shown in previews).

        It never contains the password: the run hands ``NEO4J_PASS`` over in the environment.
        """

    @abc.abstractmethod
    def run(self, args: list[str]) -> AdminResult:
        """Run ``alchemiscale ARGS`` with :meth:`env`; output captured with the password masked. Never raises for a
        non-zero exit; :class:`TargetError` when it cannot be run at all (or did not finish in time)."""

    @abc.abstractmethod
    def is_standin(self) -> bool:
        """Whether what :meth:`run` runs is a stand-in rather than alchemiscale (see the module docstring)."""

    def env(self, url: str | None = None) -> dict[str, str]:
        """alchemiscale's connection settings for the target (docs/facts.md), ``url`` replacing the portal's own."""
        c = self.target.connection
        return {"NEO4J_URL": url or c.url, "NEO4J_USER": c.user, "NEO4J_PASS": c.password, "NEO4J_DBNAME": c.database}


class LocalAlchemiscaleCli(AlchemiscaleCli):
    """The command ``PORTAL_ALCHEMISCALE_CLI`` on this machine.

    Its settings are read at each call, not fixed at construction: they are the CLI's, not the Neo4j installation's.
    """

    @staticmethod
    def _cli() -> list[str]:
        return shlex.split(settings.ALCHEMISCALE_CLI)

    def problems(self) -> list[str]:
        cli = self._cli()
        executable = cli[0] if cli else ""
        if not executable or (shutil.which(executable) is None and not os.path.isfile(executable)):
            return [f"the alchemiscale command {settings.ALCHEMISCALE_CLI!r} (PORTAL_ALCHEMISCALE_CLI) is not found"]
        return []

    def command(self, args: list[str]) -> list[str]:
        return [*self._cli(), *args]

    def is_standin(self) -> bool:
        return settings.ALCHEMISCALE_CLI_STANDIN

    def run(self, args: list[str]) -> AdminResult:
        command = self.command(args)
        timeout = settings.ALCHEMISCALE_CLI_TIMEOUT
        try:
            # The project directory as working directory, so that a command given relative to it works.
            proc = subprocess.run(
                command,
                env={**os.environ, **self.env()},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
                cwd=settings.BASE_DIR,
            )
        except (FileNotFoundError, PermissionError) as exc:
            raise TargetError(f"the alchemiscale command cannot be run: {exc}") from None
        except subprocess.TimeoutExpired:
            raise TargetError(
                f"alchemiscale {' '.join(args)} did not finish within {timeout} s (PORTAL_ALCHEMISCALE_CLI_TIMEOUT)"
            ) from None
        return AdminResult(command=command, returncode=proc.returncode, output=self.target.mask_password(proc.stdout))
