from .backups import BackupAdmin
from .retention import RetentionPolicyAdmin
from .runs import OperationRunAdmin
from .schedules import BackupScheduleAdmin
from .upgrades import AppliedMigrationAdmin

__all__ = ["AppliedMigrationAdmin", "BackupAdmin", "BackupScheduleAdmin", "OperationRunAdmin", "RetentionPolicyAdmin"]
