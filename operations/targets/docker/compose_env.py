"""Compose's ``.env``: the ``NEO4J_DOCKER_IMAGE`` line a Neo4j version switch must keep in step with the container.

In a compose deployment the Neo4j version *is* the container's image. After a switch, compose's ``.env`` still names
the old image in ``NEO4J_DOCKER_IMAGE``, and a later ``docker-compose up`` would re-create the container on it, on
top of the migrated store. With ``PORTAL_COMPOSE_ENV_FILE`` set the switch rewrites that line (atomically, keeping the
file's mode and owner); otherwise the step output and the migration's record say which line to set by hand.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from ..base import TargetError

#: the compose variable naming the Neo4j image (alchemiscale's docker-compose.yml: ${NEO4J_DOCKER_IMAGE:-neo4j:5.18})
IMAGE_VARIABLE = "NEO4J_DOCKER_IMAGE"


def replace_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, keeping its mode and owner (a temporary file beside it, renamed)."""
    st = path.stat() if path.exists() else None
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if st is not None:
            os.chmod(tmp, st.st_mode & 0o7777)
            if os.getuid() == 0:
                os.chown(tmp, st.st_uid, st.st_gid)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


#: the compose variable naming alchemiscale-server's image (every alchemiscale service of its docker-compose.yml)
RELEASE_IMAGE_VARIABLE = "ALCHEMISCALE_DOCKER_IMAGE"


class ComposeEnvFile:
    """The deployment's ``.env`` at ``path`` (PORTAL_COMPOSE_ENV_FILE), or None: staff are told what to set.
    ``variable`` is the line kept in step: Neo4j's image by default, alchemiscale's for a release upgrade."""

    def __init__(self, path: Path | None, variable: str = IMAGE_VARIABLE):
        self.path = Path(path) if path else None
        self.variable = variable

    def problems(self) -> list[str]:
        """Why the file cannot be rewritten (empty when it can, or when none is configured)."""
        path = self.path
        if path and not (path.is_file() and os.access(path.parent, os.W_OK)):
            return [
                f"PORTAL_COMPOSE_ENV_FILE names {path}, which is not a file in a directory the "
                f"portal can write; the switch must update its {self.variable} line"
            ]
        return []

    def plan(self, image: str) -> str:
        """What happens to the ``.env`` line when the container becomes ``image`` (or what staff must do)."""
        if self.path:
            return f"{self.variable}={image} written to {self.path}"
        return (
            f"set {self.variable}={image} in the deployment's .env by hand (PORTAL_COMPOSE_ENV_FILE is not "
            f"set), or the next docker-compose up may re-create the container on another image than {image}"
        )

    def point_at(self, image: str) -> str:
        """Point compose's ``.env`` at ``image``: replace the NEO4J_DOCKER_IMAGE line (or add one), atomically."""
        path = self.path
        if path is None:
            return self.plan(image)
        try:
            text = path.read_text()
        except OSError as exc:
            raise TargetError(f"reading {path} (PORTAL_COMPOSE_ENV_FILE) failed: {exc}") from None
        pattern = re.compile(rf"^(\s*(?:export\s+)?){re.escape(self.variable)}\s*=.*$", re.MULTILINE)
        new, count = pattern.subn(lambda m: f"{m.group(1)}{self.variable}={image}", text)
        if count == 0:
            new = text + ("" if text.endswith("\n") or not text else "\n") + f"{self.variable}={image}\n"
        if new != text:
            try:
                replace_file(path, new)
            except OSError as exc:
                raise TargetError(f"writing {path} (PORTAL_COMPOSE_ENV_FILE) failed: {exc}") from None
        return self.plan(image)
