"""The Neo4j driver's log, said at the level it deserves.

When Neo4j restarts (every backup and restore does), the driver finds its pooled connections dead and logs "Failed to
read from defunct connection ..." at ERROR before raising ``ServiceUnavailable``/``SessionExpired``, which the portal
handles (a 503 that says why, a new connection next time). The line is expected, and an ERROR for it after every
restart teaches operators to ignore the worker's errors; it is kept, as INFO.
"""

from __future__ import annotations

import logging

EXPECTED = ("Failed to read from defunct connection", "Failed to write data to connection")


class ExpectedReconnect(logging.Filter):
    """On the ``neo4j.io`` logger: the driver's lost-connection line becomes INFO; everything else passes as is."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and str(record.msg).startswith(EXPECTED):
            record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
        return True
