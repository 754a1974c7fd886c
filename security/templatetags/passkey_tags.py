"""The passkey buttons of the login page, the second step and the step-up page, with the configuration the
library's scripts read (a JSON data block: the Content-Security-Policy allows no inline script)."""

from __future__ import annotations

from django import template
from django_otp_webauthn.templatetags.otp_webauthn import get_configuration

from security import passkeys

register = template.Library()


@register.inclusion_tag("security/_passkey_sign_in.html", takes_context=True)
def passkey_sign_in(context) -> dict:
    """The login page: sign in with a passkey alone, where that is allowed and nobody is signed in yet."""
    request = context["request"]
    shown = passkeys.passwordless_allowed() and not request.user.is_authenticated
    # After the sign-in, the page named in the login form's hidden "next" field.
    config = get_configuration(request, {"nextFieldSelector": "#login-form input[name='next']"}) if shown else {}
    return {"shown": shown, "configuration": config}


@register.inclusion_tag("security/_passkey_verify.html", takes_context=True)
def passkey_verify(context, come_back: str = "") -> dict:
    """The second step and the step-up page: use one of the person's passkeys, where they have one. ``come_back``:
    the page to load afterwards instead of the form's "next" field."""
    request = context["request"]
    shown = passkeys.has_passkey(request.user)
    config = get_configuration(request, {"nextFieldSelector": "#passkey-next"}) if shown else {}
    return {"shown": shown, "configuration": config, "come_back": come_back or context.get("next", "")}


@register.inclusion_tag("security/_passkey_register.html", takes_context=True)
def passkey_register(context) -> dict:
    return {"configuration": get_configuration(context["request"]), "name_length": passkeys.NAME_LENGTH}
