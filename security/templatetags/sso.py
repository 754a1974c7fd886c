"""``{% sso_button next %}``: the single sign-on button on the login page (and the step-up page), or nothing while
single sign-on is not configured."""

from __future__ import annotations

from django import template
from django.conf import settings

register = template.Library()


@register.inclusion_tag("security/_sso.html")
def sso_button(next_url: str = "", again: bool = False) -> dict:
    return {
        "enabled": settings.OIDC_ENABLED,
        "provider": settings.OIDC_PROVIDER_NAME,
        "next": next_url,
        "again": again,
    }
