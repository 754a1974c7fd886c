from django.apps import AppConfig

from operations import checks

from . import status


class ComputeConfig(AppConfig):
    name = "compute"
    label = "compute"
    verbose_name = "Compute (alchemiscale's services, managers and tasks)"

    def ready(self) -> None:
        checks.register("Compute services", status.check_fleet, order=60)
