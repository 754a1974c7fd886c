"""A run's log goes through Python's logging: the runner logs to :data:`run_logger` and :class:`RunLogHandler`
(wired in ``LOGGING``, the settings) adds each line as one ``RunLogLine`` row, a single INSERT,
whatever the log's length. The same record also reaches the console (the worker's log) as ``run N: message``.

A record is a run's line when it carries ``run_id`` (and ``run_step``, ``run_message``) in its ``extra``:
:func:`log_line` builds them. The handler's formatter is the portal's :class:`~security.redaction.
CredentialFormatter`, so a URL password or a configured secret never reaches the run page or ``manage.py
operations --show``.
"""

from __future__ import annotations

import datetime as dt
import logging

#: the logger every run's lines go through; its level is set in LOGGING so that no line is lost to the console's
run_logger = logging.getLogger("operations.run")

LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def log_line(run_id: int, message: str, level: str = "info", step: str = "") -> None:
    """Add a line to run ``run_id``'s log (and to the process's log, prefixed with the run)."""
    run_logger.log(
        LEVELS.get(level, logging.INFO),
        "run %s: %s",
        run_id,
        message,
        extra={"run_id": run_id, "run_step": step, "run_message": message},
    )


class RunLogHandler(logging.Handler):
    """Stores the records that belong to a run (``run_id`` in their extra) as RunLogLine rows; ignores the rest."""

    def __init__(self, level: int = logging.NOTSET):
        super().__init__(level)
        # LOGGING builds this handler while the settings load, before the apps (and their models) are ready.
        from security.redaction import CredentialFormatter

        self.setFormatter(CredentialFormatter("%(run_message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        run_id = getattr(record, "run_id", None)
        if run_id is None:
            return
        try:
            from ..models import RunLogLine  # not at the top: the handler exists before the models are ready

            RunLogLine.objects.create(
                run_id=run_id,
                at=dt.datetime.fromtimestamp(record.created, tz=dt.UTC),
                level=record.levelname.lower(),
                step=(getattr(record, "run_step", "") or "")[:100],
                message=self.format(record),
            )
        except Exception:
            self.handleError(record)
