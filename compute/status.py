"""The status page's line about the fleet (registered with operations.checks in apps.py)."""

from __future__ import annotations

from operations.checks import Check

from . import fleetwide, queries


def check_fleet() -> Check:
    """Red when work is stuck in a way alchemiscale will not undo by itself: claims held by stale services, or a
    manager in ERROR."""
    by_state = queries.services_by_state()
    counted = fleetwide.anomalies()  # kept a few minutes: the status page is reloaded often
    found = {a["name"]: a["count"] for a in counted.value}
    stuck, errored = found["stale_claims"], found["managers_error"]
    detail = (
        f"{sum(by_state.values())} registered: {by_state['alive']} alive, {by_state['stale']} stale, "
        f"{by_state['denied']} denied; {stuck} claims held by stale services; {errored} managers in ERROR "
        f"(counted at {counted.as_of:%H:%M:%S} UTC)"
    )
    return Check("Compute services", stuck == 0 and errored == 0, detail)
