"""``{% sso_button next %}``: the single sign-on button on the login page, or nothing while single sign-on is not
configured. ``{% sso_button next again=True user=request.user %}`` on the step-up page: signing in again at the
provider as the proof, offered only to a person whose account is linked to a provider identity."""

from __future__ import annotations

from django import template
from django.conf import settings

from ..models import OIDCSubject

register = template.Library()


@register.inclusion_tag("security/_sso.html")
def sso_button(next_url: str = "", again: bool = False, user=None) -> dict:
    enabled = settings.OIDC_ENABLED
    if again:
        enabled = enabled and user is not None and OIDCSubject.objects.filter(user_id=user.pk).exists()
    return {"enabled": enabled, "provider": settings.OIDC_PROVIDER_NAME, "next": next_url, "again": again}
