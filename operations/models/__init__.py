from .backups import Backup
from .runs import ACTIVE_STATUSES, TERMINAL_STATUSES, OperationRun, OperationStep, RunStatus, StepStatus

__all__ = ["Backup", "OperationRun", "OperationStep", "RunStatus", "StepStatus", "ACTIVE_STATUSES",
           "TERMINAL_STATUSES"]
