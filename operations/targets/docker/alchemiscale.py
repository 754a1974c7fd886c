"""alchemiscale's CLI in the compose deployment (``ComposeAlchemiscaleCli``): a one-off container of its image.

As the operations guide runs it: a one-off container of the alchemiscale-server image (``PORTAL_ALCHEMISCALE_IMAGE``)
on the deployment's database network (``PORTAL_DOCKER_DB_NETWORK``, default ``<project>_db``) with
``NEO4J_URL=bolt://<service>:7687``. When the Neo4j container itself runs with host networking (the project's tests:
no bridge networks there), the job does too and uses the URL the portal reaches that Neo4j at
(``PORTAL_DOCKER_NEO4J_URL``). The interface, and what makes an image a stand-in, are in
``operations/targets/alchemiscale_cli.py``.
"""

from __future__ import annotations

from typing import Any

from ..alchemiscale_cli import STANDIN_LABEL, AlchemiscaleCli, CliTarget
from ..base import AdminResult, TargetError
from .discovery import Discovery
from .jobs import Jobs
from .sdk import docker

#: the Bolt port alchemiscale's services use on the database network (the guide's bolt://neo4j:7687)
BOLT_PORT = 7687


class ComposeAlchemiscaleCli(AlchemiscaleCli):
    """``alchemiscale ARGS`` against ``target``'s Neo4j, in a one-off container of ``image``: the deployment found by
    ``discovery``, the container run by ``jobs`` (the target's own collaborators)."""

    def __init__(
        self, target: CliTarget, discovery: Discovery, jobs: Jobs, image: str, db_network: str, timeout: float
    ):
        super().__init__(target)
        self.discovery = discovery
        self.jobs = jobs
        self.image = image
        self.db_network = db_network
        self.timeout = timeout

    def _image(self):
        d = self.discovery
        try:
            return d.client().images.get(self.image)
        except docker.errors.ImageNotFound:
            raise TargetError(
                f"the alchemiscale-server image {self.image} (PORTAL_ALCHEMISCALE_IMAGE) "
                f"is not on {d.engine}; pull it: docker pull {self.image}"
            ) from None

    def _network(self) -> tuple[str, str]:
        """(network for the job, NEO4J_URL inside it): the deployment's database network and the service's name,
        or host networking and the portal's own URL when the Neo4j container itself uses host networking."""
        d = self.discovery
        c = d.container()
        if (c.attrs.get("HostConfig") or {}).get("NetworkMode") == "host":
            return "host", self.target.connection.url
        try:
            d.client().networks.get(self.db_network)
        except docker.errors.NotFound:
            raise TargetError(
                f"the deployment's database network {self.db_network} (PORTAL_DOCKER_DB_NETWORK) does "
                f"not exist on {d.engine}; is the deployment up (docker-compose up neo4j)?"
            ) from None
        attached = sorted((c.attrs.get("NetworkSettings") or {}).get("Networks") or {})
        if self.db_network not in attached:
            raise TargetError(
                f"container {c.name} is not on the network {self.db_network} (it is on: "
                f"{', '.join(attached) or 'none'}); set PORTAL_DOCKER_DB_NETWORK to its database "
                f"network"
            )
        return self.db_network, f"bolt://{d.service}:{BOLT_PORT}"

    def problems(self) -> list[str]:
        problems = []
        for check in (self._image, self._network):
            try:
                check()
            except TargetError as exc:
                problems.append(str(exc))
        return problems

    def command(self, args: list[str]) -> list[str]:
        """The guide's ``docker run`` line; ``-e NEO4J_PASS`` without a value takes it from the caller's
        environment, so the password is never part of the line. Placeholders where Docker cannot tell."""
        try:
            network, url = self._network()
        except TargetError:
            network, url = self.db_network, f"bolt://{self.discovery.service}:{BOLT_PORT}"
        line = ["docker", "run", "--rm", "--network", network]
        for name, value in self.env(url).items():
            line += ["-e", name if name == "NEO4J_PASS" else f"{name}={value}"]
        return [*line, self.image, *args]

    def is_standin(self) -> bool:
        try:
            image = self.discovery.client().images.get(self.image)
        except (TargetError, docker.errors.APIError):
            return False
        return STANDIN_LABEL in ((image.attrs.get("Config") or {}).get("Labels") or {})

    def run(self, args: list[str]) -> AdminResult:
        image = self._image()
        network, url = self._network()
        # Docker refuses a host name with host networking; the image's own user and working directory apply.
        create: dict[str, Any] = {"network_mode": "host"} if network == "host" else {"network": network}
        returncode, output = self.jobs.run_container(
            image.id,
            args,
            what="alchemiscale",
            environment=self.env(url),
            timeout=self.timeout,
            **create,
        )
        return AdminResult(command=self.command(args), returncode=returncode, output=self.target.mask_password(output))
