"""What every worker does once when it starts, after its interrupted runs were recovered, filled by the apps above.

The backups app registers its reconcile pass (files and catalog set right again) in its ``AppConfig.ready()``; the
run machinery imports none of them. :func:`run_all` belongs in ``tasks.py``'s ``worker_ready`` handler, after the
recovery of interrupted runs, so that no run of a dead worker still counts as running by then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

#: name -> callable, in the order they were registered (a test may add one with monkeypatch.setitem)
CALLBACKS: dict[str, Callable[[], object]] = {}


def on_worker_start(fn: Callable[[], object], name: str | None = None) -> Callable[[], object]:
    """Run ``fn()`` on every worker's start; registering the same name again replaces it (``ready()`` may run twice)."""
    CALLBACKS[name or f"{fn.__module__}.{fn.__qualname__}"] = fn
    return fn


def run_all() -> list[str]:
    """Call each registered callable; one failing does not keep the others from running. The names that failed."""
    failed = []
    for name, fn in list(CALLBACKS.items()):
        try:
            fn()
        except Exception:  # logged with its traceback; a worker starts anyway
            logger.exception("the worker start-up chore %s failed", name)
            failed.append(name)
    return failed
