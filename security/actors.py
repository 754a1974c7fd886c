"""Who asked: one shape for every requester of a change, a run or an audit row.

A staff user in the admin, an operating-system user at ``manage.py``, a backup schedule, the restore drill, the
off-site retry: each is an :class:`Actor` with a kind and a name. ``label`` is how runs record their requester
(``requested_by_label``), in the forms the records have always used (``alice``, ``cli:root``, ``schedule:nightly``,
``drill``, ``offsite-retry``), so old rows and new ones read alike.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass

STAFF, CLI, SCHEDULE, DRILL, RETRY = "staff", "cli", "schedule", "drill", "retry"


@dataclass(frozen=True)
class Actor:
    kind: str
    name: str

    @classmethod
    def staff(cls, user) -> Actor:
        return cls(STAFF, user.get_username())

    @classmethod
    def command_line(cls) -> Actor:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = "unknown"
        return cls(CLI, name)

    @classmethod
    def schedule(cls, name: str) -> Actor:
        return cls(SCHEDULE, name)

    @classmethod
    def drill(cls) -> Actor:
        return cls(DRILL, "")

    @classmethod
    def retry(cls, what: str) -> Actor:
        return cls(RETRY, what)

    @classmethod
    def from_label(cls, label: str) -> Actor:
        """The actor a run's ``requested_by_label`` names (the inverse of :attr:`label`)."""
        if label == DRILL:
            return cls.drill()
        if label.endswith("-retry"):
            return cls.retry(label.removesuffix("-retry"))
        kind, colon, name = label.partition(":")
        if colon and kind in (CLI, SCHEDULE):
            return cls(kind, name)
        return cls(STAFF, label)

    @property
    def label(self) -> str:
        if self.kind == STAFF:
            return self.name
        if self.kind == DRILL:
            return DRILL
        if self.kind == RETRY:
            return f"{self.name}-retry"
        return f"{self.kind}:{self.name}"
