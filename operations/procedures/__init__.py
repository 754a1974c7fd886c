"""Procedures: ordered named steps the runner carries out (see ``operations/runner.py``)."""

from __future__ import annotations

from ..runner import Procedure
from .backup import BackupProcedure
from .copy import CopyProcedure
from .prune import PruneProcedure
from .restore import RestoreProcedure
from .verify import VerifyProcedure

#: kind -> procedure; a new procedure is added here
PROCEDURES: dict[str, type[Procedure]] = {
    p.kind: p for p in (BackupProcedure, RestoreProcedure, PruneProcedure, VerifyProcedure, CopyProcedure)
}
