from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from compute import action_views as compute_actions
from compute import views as compute_views
from identities.admin.scopes import scopes_page
from operations.glance.dashboard import dashboard_page
from operations.glance.home import home_page
from operations.glance.metrics import metrics_view
from operations.glance.status import system_status
from security import oidc_views, passkey_views
from security import views as security_views

admin.site.site_header = "alchemiscale portal"
admin.site.site_title = "alchemiscale portal"
admin.site.index_title = "Administration of the alchemiscale instance"
admin.site.site_url = None  # "View site" would lead back here: the portal has no site but its admin

urlpatterns = [
    path("admin/2fa/verify/", security_views.verify, name="two-factor-verify"),
    path("admin/2fa/enrol/", security_views.enrol, name="two-factor-enrol"),
    path("admin/step-up/", security_views.step_up, name="step-up"),
    # single sign-on (security/oidc_views.py): 404 unless PORTAL_OIDC_ISSUER is set
    path("admin/sso/start/", oidc_views.start, name="sso-start"),
    path("admin/sso/callback/", oidc_views.callback, name="sso-callback"),
    # the admin's log out, also at the provider for those who signed in there (before the admin's own URL)
    path("admin/logout/", oidc_views.log_out),
    path("admin/2fa/passkeys/", passkey_views.passkeys_page, name="passkeys"),
    path("admin/2fa/passkeys/api/", include("security.passkey_urls")),
    path("admin/status/", admin.site.admin_view(system_status), name="system-status"),
    path("admin/identity-scopes/", admin.site.admin_view(scopes_page), name="identity-scopes"),
    path("admin/dashboard/", admin.site.admin_view(dashboard_page), name="dashboard"),
    path("admin/compute/services/", admin.site.admin_view(compute_views.services_page), name="compute-services"),
    path(
        "admin/compute/services/<str:identifier>/",
        admin.site.admin_view(compute_views.service_page),
        name="compute-service",
    ),
    path("admin/compute/managers/", admin.site.admin_view(compute_views.managers_page), name="compute-managers"),
    path("admin/compute/tasks/", admin.site.admin_view(compute_views.tasks_page), name="compute-tasks"),
    path("admin/compute/tasks/list/", admin.site.admin_view(compute_views.task_list_page), name="compute-task-list"),
    path("admin/compute/anomalies/", admin.site.admin_view(compute_views.anomalies_page), name="compute-anomalies"),
    path("admin/compute/networks/", admin.site.admin_view(compute_views.networks_page), name="compute-networks"),
    path("admin/compute/throughput/", admin.site.admin_view(compute_views.throughput_page), name="compute-throughput"),
    path(
        "admin/compute/expire-stale/",
        admin.site.admin_view(compute_actions.expire_stale_page),
        name="compute-expire-stale",
    ),
    path(
        "admin/compute/managers/<str:manager_id>/clear-error/",
        admin.site.admin_view(compute_actions.clear_manager_page),
        name="compute-clear-manager",
    ),
    path("metrics", metrics_view, name="metrics"),
    # Before the admin's own URLs, so it answers for admin:index: the operator's front page.
    path("admin/", admin.site.admin_view(home_page), name="home"),
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
]
