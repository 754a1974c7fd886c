"""The Docker target: the Neo4j service of an alchemiscale docker-compose deployment, driven through the Docker SDK.

What the operations guide does by hand with ``docker stop`` / ``docker run`` / ``docker start``, this target does
through the engine's API. ``DockerTarget`` (``target.py``) implements the :class:`~operations.targets.base.Target`
interface by handing each concern to one small collaborator, each in its own module:

- ``discovery.py``: the engine, the Neo4j container found by its compose labels, its image, data mount and owner;
- ``lifecycle.py``: stopping, starting and waiting for the container;
- ``jobs.py``: one-off job containers (neo4j-admin, chown) with no network, and sweeping up orphaned ones;
- ``scratch.py``: the scratch Neo4j a backup verification loads a dump into;
- ``versions.py``: the Neo4j version an image holds and switching the container to another version;
- ``recreate.py``: re-creating the container on another image with everything compose gave it;
- ``compose_env.py``: the ``NEO4J_DOCKER_IMAGE`` line of compose's ``.env`` a switch keeps in step;
- ``alchemiscale.py``: alchemiscale's CLI in a one-off container of the alchemiscale-server image;
- ``sdk.py``: the guarded import of the Docker SDK.

Everything other code imports from ``operations.targets.docker`` is re-exported here.
"""

from __future__ import annotations

from .alchemiscale import BOLT_PORT
from .compose_env import IMAGE_VARIABLE
from .discovery import CONTAINER_DATA_DIR, PROJECT_LABEL, REPLACED_SUFFIX, SERVICE_LABEL
from .jobs import CONTAINER_BACKUP_DIR, JOB_LABEL
from .recreate import RENAMED_IN_5, setting_of, translate_settings, variable_of
from .target import DockerTarget
from .versions import image_version

__all__ = [
    "BOLT_PORT",
    "CONTAINER_BACKUP_DIR",
    "CONTAINER_DATA_DIR",
    "IMAGE_VARIABLE",
    "JOB_LABEL",
    "PROJECT_LABEL",
    "RENAMED_IN_5",
    "REPLACED_SUFFIX",
    "SERVICE_LABEL",
    "DockerTarget",
    "image_version",
    "setting_of",
    "translate_settings",
    "variable_of",
]
