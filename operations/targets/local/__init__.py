"""The local target: any Neo4j installation on this machine, driven from configuration (docs/local-target.md).

What it needs to know, all from the settings: the installation's home (``PORTAL_NEO4J_HOME``: ``bin/neo4j-admin``,
``lib/``), the directory of its ``neo4j.conf`` (``PORTAL_NEO4J_CONF``, default ``<home>/conf``; the data, logs and run
directories are read from it, relative ones against the home, as Neo4j does), and how it is started, stopped and
asked whether it runs (``PORTAL_NEO4J_START_COMMAND`` / ``_STOP_COMMAND`` / ``_STATUS_COMMAND``: e.g. ``systemctl
start neo4j``; by default the distribution's ``bin/neo4j start|stop`` and its pid file). A switch between Neo4j
versions (the 4.4 to 5 store migration) runs ``PORTAL_NEO4J_SWITCH_COMMAND`` with the version; nothing here fetches
or installs Neo4j.

The project's own instance (``make run``, ``make test``) is one configuration of this: ``devtools/local_neo4j.py``
lays out its home as a distribution, and ``scripts/services.py`` writes the settings.

alchemiscale's CLI runs here as a local command (``LocalAlchemiscaleCli`` in ``alchemiscale_cli.py``,
``PORTAL_ALCHEMISCALE_CLI``), with the target's connection in its environment.

``LocalTarget`` (``target.py``) implements the :class:`~operations.targets.base.Target` interface by handing each
concern to one small collaborator, each in its own module:

- ``installation.py``: the home, ``neo4j.conf`` and the directories it names, the version its jars hold, the owner
  of the data;
- ``supervisor.py``: starting, stopping and watching the server through the configured commands, and the operation
  lock (``operations/neo4j_lock.py``);
- ``admin.py``: neo4j-admin as the data's owner with a chosen configuration, orphans found and stopped, ownership;
- ``own_servers.py``: the portal's own servers on the installation (the scratch Neo4j, side stores) and their counts.

Everything other code imports from ``operations.targets.local`` is re-exported here.
"""

from __future__ import annotations

from .admin import ADMIN_MARKER
from .target import LocalTarget

__all__ = ["ADMIN_MARKER", "LocalTarget"]
