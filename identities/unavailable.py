"""When Neo4j (the state store) does not answer: the driver's errors that say so, and the words to say instead.

Every page and command that reads Neo4j ends with these words when the driver says the server cannot be reached
(``ServiceUnavailable``, ``SessionExpired``), or that it answers but its database is not online yet
(``DatabaseUnavailable``: Bolt opens a moment before the store does while Neo4j starts). Who knows *why* it does not answer (an operation run holding it
stopped) lives in a higher layer: the run machinery registers its explainer here in its ``AppConfig.ready()``
(:func:`set_explainer`), and the 503 page (operations/runs/unavailable.py) renders the same words.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from neo4j.exceptions import DatabaseUnavailable, ServiceUnavailable, SessionExpired

UNAVAILABLE = (ServiceUnavailable, SessionExpired, DatabaseUnavailable)

#: (the words, what holds Neo4j down or None); replaced by whoever knows more
Explainer = Callable[[], tuple[str, Any]]


def _plain() -> tuple[str, Any]:
    return "state store unavailable: Neo4j does not answer", None


_explainer: list[Explainer] = [_plain]


def set_explainer(explainer: Explainer) -> None:
    _explainer[0] = explainer


def is_unavailable(exc: BaseException | None) -> bool:
    """``exc``, or an exception it was raised from or during, says the server cannot be reached."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, UNAVAILABLE):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def explanation() -> tuple[str, Any]:
    """(the words, the run that holds Neo4j stopped or None)."""
    try:
        return _explainer[0]()
    except Exception:  # the explainer's own sources (the portal's database) may be down too: say what we know
        return _plain()
