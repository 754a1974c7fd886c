"""Advice on staff-account settings that production accepts but should not run with (``manage.py check --deploy``).

The settings refuse what is unsafe outright (alchemiscale_portal/settings/); these are the values that are legal, and
sometimes right for a particular deployment, but weaken a protection docs/security.md counts on. Silence one that
was chosen on purpose with ``SILENCED_SYSTEM_CHECKS``. The ids are not ``security.*``: Django's own deployment
checks use those.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, Warning

# Longer than a working day: a browser left logged in stays so overnight.
LONGEST_SENSIBLE_SESSION_SECONDS = 12 * 3600


def staff_account_advice(app_configs, **kwargs) -> list[CheckMessage]:
    if not settings.PRODUCTION:
        return []
    advice: list[CheckMessage] = []
    if not settings.REQUIRE_2FA:
        advice.append(
            Warning(
                "PORTAL_REQUIRE_2FA is off in production: staff who never enrolled a second factor log in with a "
                "password alone, and the same password is all a restore or an identity deletion asks them again.",
                hint="Leave it on (the production default) unless every login reaches the portal through another "
                "second factor, e.g. a single sign-on proxy in front of it.",
                id="portal_security.W001",
            )
        )
    if settings.SESSION_IDLE_SECONDS > LONGEST_SENSIBLE_SESSION_SECONDS:
        advice.append(
            Warning(
                f"PORTAL_SESSION_IDLE_MINUTES is {settings.SESSION_IDLE_SECONDS // 60}: an idle staff session lasts "
                f"longer than {LONGEST_SENSIBLE_SESSION_SECONDS // 3600} hours, so a browser left logged in stays "
                "logged in overnight.",
                hint="The default is 30 minutes; a background poll of a run page does not count as activity.",
                id="portal_security.W002",
            )
        )
    if settings.OTP_TOTP_THROTTLE_FACTOR <= 0:
        advice.append(
            Warning(
                f"PORTAL_OTP_THROTTLE_FACTOR is {settings.OTP_TOTP_THROTTLE_FACTOR}: wrong second-factor codes are "
                "not slowed down, so a six-digit code can be guessed by trying.",
                hint="With the default, 1, the next try after n wrong codes in a row waits 2^(n-1) seconds.",
                id="portal_security.W003",
            )
        )
    return advice
