"""django-otp-webauthn's endpoints under its own namespace (its script tags reverse these names), served by the
portal's narrowed views (passkey_views.py) instead of the library's."""

from django.urls import path
from django.views.i18n import JavaScriptCatalog

from . import passkey_views

app_name = "otp_webauthn"

urlpatterns = [
    path("registration/begin/", passkey_views.BeginRegistration.as_view(), name="credential-registration-begin"),
    path(
        "registration/complete/",
        passkey_views.CompleteRegistration.as_view(),
        name="credential-registration-complete",
    ),
    path("authentication/begin/", passkey_views.BeginAuthentication.as_view(), name="credential-authentication-begin"),
    path(
        "authentication/complete/",
        passkey_views.CompleteAuthentication.as_view(),
        name="credential-authentication-complete",
    ),
    # the messages the library's scripts show, in the page's language
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]), name="js-i18n-catalog"),
]
