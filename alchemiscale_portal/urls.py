from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from identities.admin.scopes import scopes_page
from operations.glance.dashboard import dashboard_page
from operations.glance.metrics import metrics_view
from operations.views import system_status

admin.site.site_header = "alchemiscale portal"
admin.site.site_title = "alchemiscale portal"
admin.site.index_title = "Administration of the alchemiscale instance"

urlpatterns = [
    path("admin/status/", admin.site.admin_view(system_status), name="system-status"),
    path("admin/identity-scopes/", admin.site.admin_view(scopes_page), name="identity-scopes"),
    path("admin/dashboard/", admin.site.admin_view(dashboard_page), name="dashboard"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
]
