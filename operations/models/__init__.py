from .alerts import Alert, AlertSettings
from .applied_migrations import AppliedMigration, MigrationOutcome
from .backups import Backup
from .copies import BackupCopy
from .releases import ReleaseNotice, ReleaseOutcome, ReleaseUpgrade
from .retention import RetentionPolicy
from .runs import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    OperationRun,
    OperationStep,
    RunLogLine,
    RunStatus,
    StepStatus,
)
from .schedules import BackupSchedule

__all__ = [
    "Alert",
    "AlertSettings",
    "AppliedMigration",
    "MigrationOutcome",
    "Backup",
    "BackupCopy",
    "OperationRun",
    "OperationStep",
    "RunLogLine",
    "RunStatus",
    "StepStatus",
    "ACTIVE_STATUSES",
    "TERMINAL_STATUSES",
    "BackupSchedule",
    "RetentionPolicy",
    "ReleaseNotice",
    "ReleaseOutcome",
    "ReleaseUpgrade",
]
