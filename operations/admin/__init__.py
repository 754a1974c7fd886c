from .backups import BackupAdmin
from .runs import OperationRunAdmin
from .upgrades import AppliedMigrationAdmin

__all__ = ["AppliedMigrationAdmin", "BackupAdmin", "OperationRunAdmin"]
