"""Side stores (docs/outage.md): the snapshot a backup dumps and the staging a restore loads, in one-off containers.

The same one-off containers as the verification's scratch store (``scratch.py``: the deployment's image, no network,
a counting server asked over its own loopback), but mounting the side store's ``data/`` (under the live data
directory, so on its file system) as the data directory and the backups directory where admin jobs always see it.
The live store is not visible to them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..base import TargetError
from .discovery import CONTAINER_DATA_DIR
from .jobs import CONTAINER_BACKUP_DIR, Jobs
from .scratch import Scratch


class SideStore(Scratch):
    """The side store whose root is ``root`` (portal view, under the data directory)."""

    def __init__(self, jobs: Jobs, root: Path):
        super().__init__(jobs, root)
        self.root = Path(root)

    def host_dir(self) -> Path:
        discovery = self.jobs.discovery
        return discovery.host_data_dir / self.root.resolve().relative_to(discovery.data_dir.resolve())

    def volumes(self) -> dict[str, dict[str, str]]:
        try:
            host = self.host_dir()
        except TargetError:  # Docker is away: a placeholder for the preview (running it would fail first)
            host = Path(f"NEO4J_DATA_STORE/{self.root.name}")
        return {
            str(host / "data"): {"bind": CONTAINER_DATA_DIR, "mode": "rw"},
            str(self.jobs.host_backup_dir): {"bind": str(CONTAINER_BACKUP_DIR), "mode": "rw"},
        }

    def ready(self) -> dict[str, Any]:
        data = self.root / "data"
        if not data.exists():
            data.mkdir(parents=True)
            self.jobs.fix_ownership([self.root])  # the jobs run as the data owner
        return self.jobs.spec()
