"""Signals of the run machinery, for the layers above it.

``run_finished`` is sent once a run has ended, however it ended (succeeded, failed, errored, or interrupted and
recovered), with ``run`` (the OperationRun row) and ``procedure`` (its class). Receivers must not raise: an error
is logged and the others still run (``send_robust``).
"""

from django.dispatch import Signal

run_finished = Signal()
