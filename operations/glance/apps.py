from django.apps import AppConfig


class GlanceConfig(AppConfig):
    """Read-only pages: the status page, the dashboard, /metrics."""

    name = "operations.glance"
    label = "glance"
    verbose_name = "At a glance"
