"""The Docker SDK, imported once for the whole package.

The SDK is in requirements.txt; the import is guarded so that the local target (and everything else importing
``operations.targets``) works on a machine without it. ``docker`` is None then, and :meth:`Discovery.client` says so
before anything else touches the engine.
"""

from __future__ import annotations

try:
    import docker
    import docker.errors
    import requests.exceptions
except ImportError:  # pragma: no cover
    docker = None  # type: ignore[assignment]
    requests = None  # type: ignore[assignment]

__all__ = ["docker", "requests"]
