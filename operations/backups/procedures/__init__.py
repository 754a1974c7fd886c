"""The backups app's procedures: ordered named steps the run machinery carries out (operations/runs/). The app
registers them in its ``ready()``."""

from __future__ import annotations

from .backup import BackupProcedure
from .copy import CopyProcedure
from .prune import PruneProcedure
from .restore import RestoreProcedure
from .verify import VerifyProcedure

__all__ = ["BackupProcedure", "CopyProcedure", "PruneProcedure", "RestoreProcedure", "VerifyProcedure"]
