from __future__ import annotations

import socket

from celery import shared_task


@shared_task(name="operations.ping")
def ping(payload: str) -> dict[str, str]:
    """A round trip through the broker and a worker; the status page and the wiring tests use it."""
    return {"echo": payload, "host": socket.gethostname(), "pid": str(__import__("os").getpid())}
