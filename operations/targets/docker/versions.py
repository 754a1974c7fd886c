"""Which Neo4j version the deployment runs, and switching it (the 4.4 to 5.x store migration).

In a compose deployment the Neo4j version *is* the container's image: the version is read from the image
(``NEO4J_VERSION``, else its version label, else a version-like tag), and switching means re-creating the container
(``recreate.py``) on the other version's local image, ``<repo>:<major.minor>`` or ``<repo>:<version>`` of the
repository the container's image comes from or ``neo4j``, then pointing compose's ``.env`` at it
(``compose_env.py``). The new container is created, not started: the procedure starts it when the store is ready.
"""

from __future__ import annotations

from typing import Any

from ..base import TargetError
from .compose_env import ComposeEnvFile
from .discovery import REPLACED_SUFFIX, Discovery
from .recreate import Recreator
from .sdk import docker


def image_version(image) -> str | None:
    """The Neo4j version an image holds: its NEO4J_VERSION, else its version label, else a version-like tag."""
    config = image.attrs.get("Config") or {}
    env = dict(item.split("=", 1) for item in config.get("Env") or [] if "=" in item)
    labels = config.get("Labels") or {}
    version = env.get("NEO4J_VERSION") or labels.get("org.opencontainers.image.version")
    if not version:
        tags = [t.rsplit(":", 1)[1] for t in image.tags if ":" in t]
        version = next((t for t in tags if t[:1].isdigit()), None)
    return version


def major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


class Versions:
    """The Neo4j version of the container ``discovery`` finds, and switches of it."""

    def __init__(self, discovery: Discovery, recreator: Recreator, env_file: ComposeEnvFile):
        self.discovery = discovery
        self.recreator = recreator
        self.env_file = env_file

    def current(self) -> str:
        d = self.discovery
        c = d.container()
        version = image_version(d.image(c))
        if not version:
            raise TargetError(
                f"cannot tell the Neo4j version of image {d.image_name(c)} (no NEO4J_VERSION, no "
                f"version label, no version tag)"
            )
        return version

    def image_for(self, version: str) -> tuple[str, Any]:
        """(name, image) of a local image of Neo4j ``version``: ``<repo>:<major.minor>`` or ``<repo>:<version>``, for
        the repository the container's image comes from and ``neo4j``, holding exactly that version."""
        d = self.discovery
        client = d.client()
        repos = ["neo4j"]
        try:
            current = d.image_name(d.container())
            repo, _, tag = current.rpartition(":")
            if repo and "/" not in tag and repo not in repos:
                repos.insert(0, repo)
        except TargetError:
            pass
        tried = []
        for repo in repos:
            for tag in dict.fromkeys([major_minor(version), version]):
                name = f"{repo}:{tag}"
                try:
                    image = client.images.get(name)
                except docker.errors.ImageNotFound:
                    tried.append(name)
                    continue
                except docker.errors.APIError as exc:
                    raise TargetError(
                        f"inspecting image {name} on {d.engine} failed: {exc.explanation or exc}"
                    ) from None
                if image_version(image) == version:
                    return name, image
                tried.append(f"{name} (holds Neo4j {image_version(image) or 'of unknown version'})")
        raise TargetError(
            f"no image of Neo4j {version} on {d.engine} (looked for {', '.join(tried)}); pull it "
            f"first: docker pull neo4j:{version}"
        )

    def image_name_for(self, version: str) -> str:
        """The image a switch to ``version`` would use, or the name to pull when there is none."""
        try:
            return self.image_for(version)[0]
        except TargetError:
            return f"neo4j:{major_minor(version)}"

    def check(self, version: str) -> list[str]:
        problems = []
        try:
            self.image_for(version)
        except TargetError as exc:
            problems.append(str(exc))
        if self.discovery.admin_image_override:
            problems.append(
                f"PORTAL_NEO4J_ADMIN_IMAGE is set ({self.discovery.admin_image_override}): neo4j-admin must come "
                f"from each version's own image while the version changes; unset it for the migration"
            )
        return problems + self.env_file.problems()

    def describe_switch(self, version: str) -> str:
        try:
            name = self.discovery.container().name
        except TargetError:
            name = f"the {self.discovery.service} container"
        image = self.image_name_for(version)
        return (
            f"re-create {name} on image {image} with the same name, labels, environment, user, mounts, restart "
            f"policy and networks (created, not started); {self.env_file.plan(image)}"
        )

    def switch(self, old, version: str) -> str:
        """Re-create the (stopped) container ``old`` on ``version``'s image and point ``.env`` at it."""
        name, image = self.image_for(version)
        done = self.recreator.remove_replaced()
        old.reload()
        if (
            old.attrs.get("Image") == image.id
            and self.discovery.image_name(old) == name
            and not old.name.endswith(REPLACED_SUFFIX)
        ):
            done.append(f"container {old.name} already runs {name}")
        else:
            before = self.discovery.image_name(old)
            new = self.recreator.recreate(old, name, version)
            done.append(f"container {new.name} re-created on {name} (was {before}); not started")
        done.append(self.env_file.point_at(name))
        return "; ".join(done)

    def follow_up(self, version: str) -> str:
        if self.env_file.path:
            return ""
        try:
            image = self.discovery.image_name(self.discovery.container())
        except TargetError:
            image = f"neo4j:{major_minor(version)}"
        return self.env_file.plan(image)
