"""The workers' roll call (operations/runs/roll_call.py, docs/runs.md "Is anybody listening?") with real Celery workers:
a worker is on it while it runs and off it when it stops; the workers' answers, not the roll call, decide who is
alive (a killed worker's entry stays until it expires, yet it is not reported); a roll call that names a worker
that does not exist and misses live ones still gives every live worker and its queues."""

from __future__ import annotations

import os
import signal

from django.conf import settings

from operations.runs import roll_call
from tests.operations.conftest import dedicated_worker


def test_roll_call_follows_workers_and_answers_decide(celery_worker_process):
    with dedicated_worker("roll-call", "roll-call-queue") as first:
        assert first.node in roll_call.names()
        live = roll_call.worker_queues()
        assert live is not None and live.get(first.node) == ["roll-call-queue"], live
        session_workers = {name for name, queues in live.items() if settings.OPERATIONS_QUEUE in queues}
        assert session_workers, f"the session's worker consumes the operations queue: {live}"

        # A name that answers nothing and the live workers missing: asked again, every live worker is there.
        before = roll_call.names()
        for name in before:
            roll_call.leave(name)
        roll_call.answer("ghost@nowhere.invalid")
        try:
            live = roll_call.worker_queues()
        finally:
            roll_call.leave("ghost@nowhere.invalid")
            for name in before:
                roll_call.answer(name)
        assert live is not None
        assert "ghost@nowhere.invalid" not in live
        assert live.get(first.node) == ["roll-call-queue"] and session_workers <= set(live), live
    # stopped (SIGTERM, a warm shutdown): off the roll call
    assert first.node not in roll_call.names()

    with dedicated_worker("roll-call-killed", "roll-call-queue") as killed:
        assert killed.node in roll_call.names()
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait()
        # still on the roll call (nothing took it off), but not alive
        assert killed.node in roll_call.names()
        live = roll_call.worker_queues()
        assert live is not None and killed.node not in live and session_workers <= set(live), live
    roll_call.leave(killed.node)
