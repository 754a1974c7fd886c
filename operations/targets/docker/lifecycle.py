"""Starting, stopping and waiting for the Neo4j container, as ``docker start`` / ``docker stop`` would.

A stop returns only once the container is no longer running (Neo4j takes about ten seconds to stop cleanly, so the
stop timeout is ``PORTAL_NEO4J_STOP_TIMEOUT``, not compose's 10 s that would kill it mid-checkpoint). A start first
sweeps away one-off jobs still holding the store. The wait for Bolt gives up at once, with the container's last
output, when the container stops running or a restart policy brings a crashed Neo4j back.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from security.masking import mask_url

from ..base import TargetError
from .discovery import Discovery
from .jobs import Jobs
from .sdk import docker


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


class Lifecycle:
    """The running state of the container ``discovery`` finds."""

    def __init__(self, discovery: Discovery, jobs: Jobs, stop_timeout: float):
        self.discovery = discovery
        self.jobs = jobs
        self.stop_timeout = stop_timeout

    def is_up(self) -> bool:
        c = self.discovery.container()
        c.reload()
        return c.status in ("running", "restarting")

    def stop(self) -> None:
        c = self.discovery.container()
        try:
            # `docker stop` also keeps a `restart: unless-stopped` container down until it is started again.
            c.stop(timeout=int(self.stop_timeout))
            c.wait(condition="not-running", timeout=self.stop_timeout + 30)
        except docker.errors.APIError as exc:
            raise TargetError(f"stopping container {c.name} failed: {exc.explanation or exc}") from None
        except Exception as exc:  # requests' timeout
            raise TargetError(f"container {c.name} did not stop within {self.stop_timeout:.0f} s: {exc}") from None

    def start(self) -> None:
        c = self.discovery.container()
        self.jobs.sweep()  # Neo4j cannot start on a store an admin job still holds
        try:
            c.start()
        except docker.errors.APIError as exc:
            raise TargetError(f"starting container {c.name} failed: {exc.explanation or exc}") from None

    def wait_for_bolt(self, url: str, limit: float, answers: Callable[[float], None]) -> None:
        """Wait until ``answers(timeout)`` (a query over Bolt at ``url``) succeeds, at most ``limit`` seconds; give
        up at once when the container stops running or crashes (a restart policy would otherwise bring it back and
        hide the crash until the time is up)."""
        deadline = time.monotonic() + limit
        c = self.discovery.container()
        parts = urlsplit(url)
        restarts = c.attrs.get("RestartCount", 0)
        last = "the port never took connections"

        def last_words() -> str:
            return c.logs(tail=15).decode(errors="replace").strip()

        while True:
            c.reload()
            if c.status not in ("running", "restarting", "created"):
                raise TargetError(
                    f"container {c.name} is {c.status} (exit code {c.attrs['State'].get('ExitCode')})"
                    f" instead of starting Neo4j; its last output:\n{last_words()}"
                )
            if c.attrs.get("RestartCount", 0) > restarts:
                raise TargetError(
                    f"Neo4j in container {c.name} exited (code {c.attrs['State'].get('ExitCode')}) "
                    f"and Docker restarted it; its last output:\n{last_words()}"
                )
            # Only query once the port takes connections: the driver's own retries back off for up to 30 s.
            if port_open(parts.hostname or "127.0.0.1", parts.port or 7687):
                try:
                    answers(max(min(10.0, deadline - time.monotonic()), 0.5))
                    return
                except TargetError as exc:
                    last = str(exc)
            if time.monotonic() >= deadline:
                raise TargetError(
                    f"Neo4j in container {c.name} did not answer on {mask_url(url)} "
                    f"within {limit:.0f} s ({last}); its last output:\n{last_words()}"
                )
            time.sleep(0.25)
