from .backups import BackupAdmin
from .runs import OperationRunAdmin
from .schedules import BackupScheduleAdmin
from .upgrades import AppliedMigrationAdmin

__all__ = ["AppliedMigrationAdmin", "BackupAdmin", "BackupScheduleAdmin", "OperationRunAdmin"]
