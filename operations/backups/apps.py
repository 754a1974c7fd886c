from django.apps import AppConfig


class BackupsConfig(AppConfig):
    """Backups and what is done with them: the catalog's procedures (back up, restore, verify, copy off-site,
    prune), off-site copies, retention, the portal database's copy."""

    name = "operations.backups"
    label = "backups"
    verbose_name = "Backups"

    def ready(self) -> None:
        # The procedures and the receiver use models, so they are imported once the apps are ready.
        from identities import inventory

        from ..runs import registry, startup
        from ..runs.signals import run_finished
        from . import system_checks  # noqa: F401  (registers its advice on the settings)
        from .procedures import BackupProcedure, CopyProcedure, PruneProcedure, RestoreProcedure, VerifyProcedure
        from .reconcile import at_worker_start

        registry.register(BackupProcedure, RestoreProcedure, PruneProcedure, VerifyProcedure, CopyProcedure)
        startup.on_worker_start(at_worker_start, name="backups.reconcile")

        def forget_store_caches(sender, run, procedure, **kwargs) -> None:
            """After a run that may have changed the store's contents (a restore, a migration): drop the caches of
            them (Django's cache, shared by the web server, workers and commands, so every process reads afresh)."""
            if getattr(procedure, "changes_store", False):
                inventory.forget()

        run_finished.connect(forget_store_caches, weak=False, dispatch_uid="backups.forget_store_caches")
