"""DEV TOOL: what the Neo4j instance manager (``local_neo4j``) and the Java 11 fetcher (``java11``) share: the
directory both keep their downloads in, and the error both raise for what the operator has to act on.

The bottom of the dev tools: it imports no other module of the project, so both can import it at their top.
Standard library only, like them.
"""

from __future__ import annotations

import os
from pathlib import Path


class Neo4jError(RuntimeError):
    """Something the operator has to act on; the message says what."""


def cache_dir() -> Path:
    """Where fetched jars, Java 11 and class archives are kept: PORTAL_CACHE_DIR, else the user's cache directory."""
    base = os.environ.get("PORTAL_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "alchemiscale-portal"
    )
    return Path(base)
