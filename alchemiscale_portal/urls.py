from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from identities.admin.scopes import scopes_page
from operations.glance.dashboard import dashboard_page
from operations.glance.home import home_page
from operations.glance.metrics import metrics_view
from operations.glance.status import system_status
from security import views as security_views

admin.site.site_header = "alchemiscale portal"
admin.site.site_title = "alchemiscale portal"
admin.site.index_title = "Administration of the alchemiscale instance"
admin.site.site_url = None  # "View site" would lead back here: the portal has no site but its admin

urlpatterns = [
    path("admin/2fa/verify/", security_views.verify, name="two-factor-verify"),
    path("admin/2fa/enrol/", security_views.enrol, name="two-factor-enrol"),
    path("admin/step-up/", security_views.step_up, name="step-up"),
    path("admin/status/", admin.site.admin_view(system_status), name="system-status"),
    path("admin/identity-scopes/", admin.site.admin_view(scopes_page), name="identity-scopes"),
    path("admin/dashboard/", admin.site.admin_view(dashboard_page), name="dashboard"),
    path("metrics", metrics_view, name="metrics"),
    # Before the admin's own URLs, so it answers for admin:index: the operator's front page.
    path("admin/", admin.site.admin_view(home_page), name="home"),
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
]
