from .alerts import AlertAdmin, AlertSettingsAdmin
from .backups import BackupAdmin
from .retention import RetentionPolicyAdmin
from .runs import OperationRunAdmin
from .schedules import BackupScheduleAdmin
from .upgrades import AppliedMigrationAdmin

__all__ = [
    "AlertAdmin",
    "AlertSettingsAdmin",
    "AppliedMigrationAdmin",
    "BackupAdmin",
    "BackupScheduleAdmin",
    "OperationRunAdmin",
    "RetentionPolicyAdmin",
]
