"""A target as a web process without access to it sees it (PORTAL_TARGET_VIA_WORKER): what the status and
confirmation pages show comes from the report its worker records every sweep (reports.py); everything else is the
real target's (and whatever needs the engine or the data directory is done by the worker)."""

from __future__ import annotations

from django.conf import settings

from .base import TargetError
from .reports import read_report


class ReportedTarget:
    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    def _report(self) -> dict:
        report = read_report(self._real.name)
        if report is None:
            raise TargetError(
                f"no worker has reported on the {self._real.name} target yet (this web process does not reach it "
                "itself: its worker reports every sweep)"
            )
        stale_after = max(120, 4 * settings.OPERATIONS_SWEEP_INTERVAL)
        if report["age"] > stale_after:
            raise TargetError(f"the worker's last report on the {self._real.name} target is {report['age']:.0f} s old")
        if not report["ok"]:
            raise TargetError(f"{report['error']} (reported by worker {report['worker']} {report['age']:.0f} s ago)")
        return report

    def describe(self) -> str:
        report = self._report()
        return f"{report['description']} (reported by worker {report['worker']} {report['age']:.0f} s ago)"

    def is_up(self) -> bool:
        return bool(self._report()["up"])

    def crash_evidence(self) -> str | None:
        return self._report()["crashed"]

    def neo4j_version(self) -> str:
        report = self._report()
        if not report["version"]:
            raise TargetError(f"the worker could not read the Neo4j version of the {self._real.name} target")
        return report["version"]
