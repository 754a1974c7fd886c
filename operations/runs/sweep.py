"""The worker's periodic sweep as a Celery bootstep: every PORTAL_SWEEP_INTERVAL_SECONDS, in the worker's main
process, re-send lost messages of pending runs, answer the roll call and report on the target (tasks.py
``sweep_pending_runs``). Registered by the project's Celery app (alchemiscale_portal/celery.py), which loads this
module before Django's apps are ready: nothing here touches a model at import."""

from __future__ import annotations

from celery import bootsteps
from django.conf import settings


class PendingRunSweep(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.tref = None

    def start(self, worker) -> None:
        # The worker starts this step once Django's apps are ready; the sweep's module reads models.
        from .tasks import sweep_pending_runs

        self.tref = worker.timer.call_repeatedly(
            max(1, settings.OPERATIONS_SWEEP_INTERVAL), sweep_pending_runs, (worker.app, worker.hostname), priority=10
        )

    def stop(self, worker) -> None:
        if self.tref is not None:
            self.tref.cancel()
