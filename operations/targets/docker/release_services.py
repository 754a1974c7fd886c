"""alchemiscale's own services in the compose deployment, and moving them onto another release's image.

The operations guide's common upgrade is "re-deployment of the API and compute services with a Docker image
corresponding to that new release". In alchemiscale's ``docker-compose.yml`` every such service runs
``${ALCHEMISCALE_DOCKER_IMAGE}``: ``alchemiscale-client-API``, ``alchemiscale-compute-API``,
``alchemiscale-strategist`` and the one-shot ``alchemiscale-db-init``. They are found, like the Neo4j container, by
their compose labels (project and service, ``PORTAL_ALCHEMISCALE_SERVICES``), each through its own
:class:`Discovery`, so a service is the same container whatever compose called it.

Moving a service is what the Neo4j version switch does to Neo4j (``recreate.py``): the container is stopped, renamed
aside, re-created on the other image with everything compose gave it (name, labels, environment, user, mounts,
restart policy, networks, healthcheck), the old one removed, and the new one started when the old one ran.

Whether a service is healthy is asked the way compose's healthcheck asks it, at once rather than at the check's
interval (alchemiscale's compose file checks every minute): the container's own healthcheck command (``curl -f
http://localhost:1840/ping`` for the client API) is run inside it with ``docker exec`` until it succeeds. A service
without a healthcheck (the strategist) is healthy once it has kept running, without a restart, for a few seconds.
"""

from __future__ import annotations

import dataclasses
import shlex
import time

from ..base import TargetError
from .discovery import SERVICE_LABEL, Discovery
from .recreate import Recreator
from .sdk import docker

#: the services of alchemiscale's docker-compose.yml that run the alchemiscale-server image
DEFAULT_SERVICES = (
    "alchemiscale-client-API",
    "alchemiscale-compute-API",
    "alchemiscale-strategist",
    "alchemiscale-db-init",
)
#: how long a service without a healthcheck must keep running to count as up
SETTLE_SECONDS = 5.0


@dataclasses.dataclass(frozen=True)
class ServiceState:
    """One alchemiscale service as found on the engine."""

    service: str
    container: str
    image: str
    image_id: str
    running: bool
    #: the healthcheck as an exec command line, or [] when the container has none
    health: list[str]

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def health_command(container) -> list[str]:
    """The container's compose healthcheck as a command line for ``docker exec`` ([] when it has none)."""
    test = ((container.attrs.get("Config") or {}).get("Healthcheck") or {}).get("Test") or []
    if not test or test[0] == "NONE":
        return []
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(test[1:])]
    return list(test[1:]) if test[0] == "CMD" else list(test)


class ReleaseServices:
    """The alchemiscale services ``names`` of the compose project ``discovery`` belongs to."""

    def __init__(self, discovery: Discovery, names: tuple[str, ...] | list[str] = DEFAULT_SERVICES):
        self.base = discovery
        self.names = tuple(names)

    def discovery_of(self, service: str) -> Discovery:
        return Discovery(self.base.project, service, docker_host=self.base.docker_host)

    def found(self) -> tuple[list[ServiceState], list[str]]:
        """(services found, names of those not found), in the order of ``names``."""
        found, missing = [], []
        for service in self.names:
            d = self.discovery_of(service)
            if not d.labelled():
                missing.append(service)
                continue
            c = d.container()
            found.append(
                ServiceState(
                    service=service,
                    container=c.name,
                    image=d.image_name(c),
                    image_id=c.attrs.get("Image", ""),
                    running=c.status in ("running", "restarting"),
                    health=health_command(c),
                )
            )
        return found, missing

    def others(self) -> list[str]:
        """Services of the project left alone (Neo4j, the reverse proxy): named on the page so nothing is a surprise."""
        client = self.base.client()
        containers = client.containers.list(
            all=True, filters={"label": f"com.docker.compose.project={self.base.project}"}
        )
        names = {(c.labels or {}).get(SERVICE_LABEL, "") for c in containers}
        return sorted(n for n in names if n and n not in self.names)

    def image_present(self, name: str) -> bool:
        try:
            self.base.client().images.get(name)
        except docker.errors.ImageNotFound:
            return False
        except docker.errors.APIError as exc:
            raise TargetError(
                f"inspecting image {name} on {self.base.engine} failed: {exc.explanation or exc}"
            ) from None
        return True

    def image_id(self, name: str) -> str:
        try:
            return self.base.client().images.get(name).id
        except docker.errors.ImageNotFound:
            raise TargetError(
                f"the image {name} is not on {self.base.engine}; pull it first: docker pull {name}"
            ) from None

    def move(self, service: str, image: str, *, start: bool) -> str:
        """Put ``service`` on ``image``: stop it, re-create it with everything compose gave it, start it if
        ``start``. Nothing happens when it already runs ``image``."""
        d = self.discovery_of(service)
        recreator = Recreator(d)
        done = recreator.remove_replaced()
        old = d.container()
        want = self.image_id(image)
        if old.attrs.get("Image") == want and d.image_name(old) == image:
            done.append(f"{old.name} already runs {image}")
        else:
            before = d.image_name(old)
            try:
                old.stop(timeout=30)
                old.wait(condition="not-running", timeout=60)
            except docker.errors.APIError as exc:
                raise TargetError(f"stopping container {old.name} failed: {exc.explanation or exc}") from None
            # No Neo4j settings in these containers' environment (NEO4J_URL/USER/PASS are not renamed settings).
            new = recreator.recreate(old, image, "")
            done.append(f"{new.name} re-created on {image} (was {before})")
        if start:
            c = d.container()
            c.reload()
            if c.status != "running":
                try:
                    c.start()
                except docker.errors.APIError as exc:
                    raise TargetError(f"starting container {c.name} failed: {exc.explanation or exc}") from None
                done.append("started")
        else:
            done.append("left stopped, as it was")
        return "; ".join(done)

    def wait_healthy(self, service: str, timeout: float) -> str:
        """Wait until ``service`` answers its healthcheck (or, without one, keeps running); TargetError with the
        container's last words when it exits, restarts or does not answer within ``timeout`` seconds."""
        d = self.discovery_of(service)
        c = d.container()
        command = health_command(c)
        restarts = c.attrs.get("RestartCount", 0)
        began = time.monotonic()
        deadline = began + timeout
        last = "no answer yet"

        def last_words() -> str:
            return c.logs(tail=10).decode(errors="replace").strip()

        while True:
            c.reload()
            if c.status not in ("running", "created"):
                raise TargetError(
                    f"{c.name} is {c.status} (exit code {c.attrs['State'].get('ExitCode')}) on "
                    f"{d.image_name(c)}; its last output:\n{last_words()}"
                )
            if c.attrs.get("RestartCount", 0) > restarts:
                raise TargetError(f"{c.name} exited and Docker restarted it; its last output:\n{last_words()}")
            if c.status == "running":
                if command:
                    code, output = c.exec_run(command)
                    if code == 0:
                        return f"{c.name} answers its healthcheck ({shlex.join(command)}) on {d.image_name(c)}"
                    said = output.decode(errors="replace").strip().splitlines()
                    last = f"exit {code}" + (f": {said[-1][-300:]}" if said else "")
                elif time.monotonic() - began >= SETTLE_SECONDS:
                    return f"{c.name} has kept running for {SETTLE_SECONDS:.0f} s on {d.image_name(c)} (no healthcheck)"
            if time.monotonic() >= deadline:
                raise TargetError(
                    f"{c.name} did not answer its healthcheck ({shlex.join(command)}) within {timeout:.0f} s on "
                    f"{d.image_name(c)} ({last}); its last output:\n{last_words()}"
                )
            time.sleep(1.0)
