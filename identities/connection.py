"""The Bolt driver neomodel uses for the state store: one per process, shared by its threads, that checks a pooled
connection before using it (docs/facts.md, "Reaching the state store").

Neo4j restarts under the portal on every backup and restore. A driver keeps idle connections in its pool; after a
restart each of them is a dead socket, and the first query on one fails ("Failed to read from defunct connection")
although Neo4j is back. With ``liveness_check_timeout=0`` the driver sends a cheap RESET on an idle connection before
handing it out and opens a new one when that fails, so a page opened after a backup just works. neomodel builds its
own driver from a URL without that option, so the portal gives it this one instead (``config.DRIVER``).

A forked child (Celery's prefork pool) gets a driver of its own: sockets inherited from the parent must not be shared.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import neo4j
from django.conf import settings
from neomodel import config, db


def new_driver() -> neo4j.Driver:
    url = urlsplit(settings.NEO4J_URL)
    return neo4j.GraphDatabase.driver(
        f"{url.scheme}://{url.netloc.rsplit('@', 1)[-1]}",
        auth=(settings.NEO4J_USER, settings.NEO4J_PASS),
        max_connection_pool_size=settings.NEOMODEL_MAX_CONNECTION_POOL_SIZE,
        connection_timeout=config.CONNECTION_TIMEOUT,
        connection_acquisition_timeout=config.CONNECTION_ACQUISITION_TIMEOUT,
        liveness_check_timeout=0,
    )


def install() -> None:
    """Make neomodel connect through :func:`new_driver` (called once, when the identities app is ready)."""
    config.DATABASE_URL = ""  # neomodel prefers a URL when it has one: it would build a driver without the check
    config.DATABASE_NAME = settings.NEO4J_DBNAME
    config.DRIVER = new_driver()
    db.driver = None  # this thread's neomodel state connects through it on first use


def _after_fork_in_child() -> None:
    config.DRIVER = new_driver()
    db.driver = None


os.register_at_fork(after_in_child=_after_fork_in_child)
