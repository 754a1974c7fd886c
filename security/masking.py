"""The one helper for showing or logging a URL: its password masked (standard library only, so the settings
module can use it too). See docs/reliability.md, "Security"."""

from __future__ import annotations

import re

MASK = "********"
# scheme://[user]:password@ : the password part, whatever the scheme (bolt, redis, postgres, amqp, ...)
_URL_CREDENTIALS = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^\s/@:'\"<>]*:)(?P<password>[^\s/@'\"<>]+)@")


def mask_url(url: str) -> str:
    """``url`` with the password of its user part replaced; anything else unchanged."""
    if type(url) is not str:  # lazy objects and the like are left alone
        return url
    return _URL_CREDENTIALS.sub(lambda m: f"{m['head']}{MASK}@", url)
