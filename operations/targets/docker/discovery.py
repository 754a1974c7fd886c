"""Finding the deployment: the engine, the compose deployment's Neo4j container, its image, mounts and data owner.

The Neo4j container is found by its compose labels (``com.docker.compose.project`` / ``.service``), never by a guessed
container name, so it is the same container whatever compose called it. Its data directory is read from the
container's own mount of ``/var/lib/neo4j/data`` (the ``NEO4J_DATA_STORE`` of the deployment's ``.env``), and the data
owner from the ``user:`` it runs as (``USER_ID:GROUP_ID``).

Bind-mount sources are *host* paths. When the portal itself runs in a container, the compose file of this project
mounts the data and backups directories at the same paths inside the portal's containers as on the host, so the
portal's view and the host's view agree; ``PORTAL_NEO4J_DATA_DIR`` (here ``data_dir``) exists for deployments that
mount the data directory elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..base import TargetError
from .sdk import docker

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
#: where the official image (and ours) keeps the store; the guide mounts the data directory here
CONTAINER_DATA_DIR = "/var/lib/neo4j/data"
#: the name a container being replaced by a version switch has until its successor exists (see recreate.py)
REPLACED_SUFFIX = "--replaced-by-portal"


class Discovery:
    """The engine and, on it, the Neo4j container of compose project ``project``, service ``service``."""

    def __init__(
        self,
        project: str,
        service: str,
        *,
        docker_host: str | None = None,
        admin_image: str | None = None,
        data_dir: Path | None = None,
    ):
        self.project = project
        self.service = service
        self.docker_host = docker_host
        #: PORTAL_NEO4J_ADMIN_IMAGE: the image neo4j-admin jobs use instead of the container's own
        self.admin_image_override = admin_image or None
        self.data_dir_override = Path(data_dir) if data_dir else None
        self._client = None

    @property
    def engine(self) -> str:
        return self.docker_host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"

    def client(self):
        """A connected Docker client, or TargetError saying the engine cannot be reached."""
        if docker is None:
            raise TargetError("the Python package 'docker' is not installed; it is in requirements.txt")
        if self._client is None:
            try:
                client = docker.DockerClient(base_url=self.docker_host) if self.docker_host else docker.from_env()
                client.ping()
            except Exception as exc:  # the SDK raises several unrelated types for an unreachable engine
                raise TargetError(
                    f"the Docker engine at {self.engine} cannot be reached: {exc}. Is dockerd "
                    f"running, and is its socket mounted into the portal's containers?"
                ) from None
            self._client = client
        return self._client

    def labelled(self) -> list:
        """Every container, running or not, carrying the deployment's project and service labels."""
        try:
            return self.client().containers.list(
                all=True, filters={"label": [f"{PROJECT_LABEL}={self.project}", f"{SERVICE_LABEL}={self.service}"]}
            )
        except docker.errors.APIError as exc:
            raise TargetError(f"listing containers on {self.engine} failed: {exc.explanation or exc}") from None

    def container(self):
        """The deployment's Neo4j container, found by its compose labels."""
        found = self.labelled()
        if not found:
            raise TargetError(
                f"no container of compose project {self.project!r}, service {self.service!r} exists "
                f"on {self.engine}. Is the deployment created (docker-compose up), and are "
                f"PORTAL_DOCKER_PROJECT / PORTAL_DOCKER_SERVICE right?"
            )
        if len(found) > 1:
            # A version switch killed between creating the successor and removing its predecessor (renamed with
            # REPLACED_SUFFIX, stopped): the successor is the container; the next switch removes the other.
            current = [c for c in found if not c.name.endswith(REPLACED_SUFFIX)]
            if len(current) == 1:
                return current[0]
            names = ", ".join(c.name for c in found)
            raise TargetError(
                f"{len(found)} containers match compose project {self.project!r}, service "
                f"{self.service!r} ({names}); a state store must be one container"
            )
        return found[0]

    def mount_source(self, container, destination: str) -> Path:
        for mount in container.attrs.get("Mounts", []):
            if mount.get("Destination") == destination:
                return Path(mount["Source"])
        raise TargetError(
            f"container {container.name} has nothing mounted at {destination}: its store would be "
            f"lost with the container. Mount the data directory there (NEO4J_DATA_STORE)"
        )

    # -- the image: the container's own, or PORTAL_NEO4J_ADMIN_IMAGE for the jobs --------------------------------
    def image(self, container):
        name = self.admin_image_override
        try:
            return self.client().images.get(name) if name else container.image
        except docker.errors.ImageNotFound:
            if name:
                raise TargetError(
                    f"the image {name} (PORTAL_NEO4J_ADMIN_IMAGE) is not on {self.engine}; pull or build it first"
                ) from None
            raise TargetError(
                f"the image of container {container.name} ({self.image_name(container)}) is no longer "
                f"on {self.engine}; pull it again (NEO4J_DOCKER_IMAGE)"
            ) from None

    def image_name(self, container) -> str:
        if self.admin_image_override:
            return self.admin_image_override
        return (container.attrs.get("Config") or {}).get("Image") or container.attrs.get("Image", "?")

    # -- the store: where it is and whose it is --------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        """The data directory as the portal sees it."""
        if self.data_dir_override:
            return Path(self.data_dir_override)
        return self.host_data_dir

    @property
    def host_data_dir(self) -> Path:
        """The data directory as the engine (the host) sees it: the source of the container's mount."""
        return self.mount_source(self.container(), CONTAINER_DATA_DIR)

    def data_owner(self) -> tuple[int, int]:
        """The ``user:`` the Neo4j container runs as (compose's ``USER_ID:GROUP_ID``), else the data dir's owner."""
        c = self.container()
        user = (c.attrs.get("Config") or {}).get("User") or ""
        uid, _, gid = user.partition(":")
        if uid.isdigit():
            return int(uid), int(gid) if gid.isdigit() else int(uid)
        try:
            st = self.data_dir.stat()
        except OSError as exc:
            raise TargetError(
                f"container {c.name} runs as {user or 'the image default user'} and the data "
                f"directory {self.data_dir} cannot be read to find its owner: {exc}"
            ) from None
        return st.st_uid, st.st_gid
