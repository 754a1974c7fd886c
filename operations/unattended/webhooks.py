"""Posting an alert to a chat webhook without handing staff a way into the portal's own network.

The URL is an operator's input, so before anything is sent: https only; the host must not resolve to a loopback,
private, link-local (cloud metadata lives at 169.254.169.254), multicast, reserved or unspecified address. A host
named in PORTAL_ALERT_WEBHOOK_ALLOW_HOSTS is exempt from both (an internal Mattermost, a test server). Redirects are
not followed, and what goes back to the page is the HTTP status or "could not be reached", never the answer's text
or the socket's error (which would make the settings page a port scanner); the details go to the server's log.
The host is resolved once for the check and again by the connection: a DNS answer that changes in between is not
defended against here (docs/unattended.md).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings

logger = logging.getLogger(__name__)


class WebhookRefused(ValueError):
    """The URL may not be used: the reason, in words."""


class WebhookFailed(OSError):
    """The post did not go through: a reason that tells nothing about the other side but its HTTP status."""


def _allowed_hosts() -> set[str]:
    return {h.strip().lower().strip("[]") for h in getattr(settings, "ALERT_WEBHOOK_ALLOW_HOSTS", []) if h.strip()}


def _why_not(address: str) -> str | None:
    ip = ipaddress.ip_address(address.split("%")[0])
    for attribute, words in (
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local (cloud metadata lives there)"),
        ("is_unspecified", "unspecified"),
        ("is_multicast", "multicast"),
        ("is_private", "private"),
        ("is_reserved", "reserved"),
    ):
        if getattr(ip, attribute):
            return words
    return None


def check_url(url: str) -> None:
    """Refuse (WebhookRefused) a URL the portal must not post to; nothing is sent."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    allowed = host in _allowed_hosts()
    if parts.scheme != "https" and not (parts.scheme == "http" and allowed):
        raise WebhookRefused(
            "the webhook must be an https:// URL (http only for a host in PORTAL_ALERT_WEBHOOK_ALLOW_HOSTS)"
        )
    if not host:
        raise WebhookRefused("the webhook URL names no host")
    if allowed:
        return
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise WebhookRefused(f"the webhook's host {host!r} cannot be resolved") from None
    for info in infos:
        why = _why_not(str(info[4][0]))
        if why:
            raise WebhookRefused(
                f"the webhook's host {host!r} resolves to a {why} address ({info[4][0]}); the portal does not post "
                "to its own network unless the host is in PORTAL_ALERT_WEBHOOK_ALLOW_HOSTS"
            )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise WebhookFailed(f"the webhook answered with a redirect (HTTP {code}), which is not followed")


_opener = urllib.request.build_opener(_NoRedirects)


def post(url: str, text: str) -> None:
    """A JSON POST with a ``text`` field, which Slack's and Mattermost's incoming webhooks both accept."""
    check_url(url)
    request = urllib.request.Request(
        url, data=json.dumps({"text": text}).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with _opener.open(request, timeout=10) as response:
            status = response.status
    except WebhookFailed:
        raise
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:
        logger.warning("alert webhook %s not reached: %s", masked(url), exc)
        raise WebhookFailed("the webhook could not be reached") from None
    if status >= 300:
        raise WebhookFailed(f"the webhook answered HTTP {status}")


def masked(url: str) -> str:
    """The URL without what makes it a credential (Slack's and Mattermost's secrets are in the path)."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return "(not a URL)"
    port = f":{parts.port}" if parts.port else ""
    return (
        f"{parts.scheme}://{parts.hostname}{port}/…"
        if parts.path not in ("", "/")
        else f"{parts.scheme}://{parts.hostname}{port}/"
    )
