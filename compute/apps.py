from django.apps import AppConfig

from operations import checks, registries

from . import status, watch


class ComputeConfig(AppConfig):
    name = "compute"
    label = "compute"
    verbose_name = "Compute (alchemiscale's services, managers and tasks)"

    def ready(self) -> None:
        checks.register("Compute services", status.check_fleet, order=60)
        registries.register_metrics("compute", watch.gauges)
        registries.register_alerts(watch.ALERT_KIND, watch.findings)
