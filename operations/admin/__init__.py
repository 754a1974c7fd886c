from .backups import BackupAdmin
from .runs import OperationRunAdmin

__all__ = ["BackupAdmin", "OperationRunAdmin"]
