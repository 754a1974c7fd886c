"""Whose address a request comes from, behind PORTAL_PROXY_COUNT reverse proxies (login throttling keys on it).

Each proxy appends the address it was reached from to ``X-Forwarded-For``, so behind N trusted proxies the client's
address is the N-th entry from the right; anything further left was written by the client and proves nothing.
With no proxy (0), or a header shorter than the proxies promised, or an entry that is no address, the connection's
own address (``REMOTE_ADDR``) is the answer.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    remote = request.META.get("REMOTE_ADDR")
    count = getattr(settings, "PROXY_COUNT", 0)
    if count <= 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    if len(hops) < count:
        return remote
    candidate = hops[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
