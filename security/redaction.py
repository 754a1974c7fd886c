"""Keeping credentials off screens, pages and logs (see docs/reliability.md, "Security").

- :func:`security.masking.mask_url` is the one helper for showing or logging a URL:
  ``scheme://user:pass@host`` becomes ``scheme://user:********@host``.
- :class:`CredentialFilter` is Django's ``DEFAULT_EXCEPTION_REPORTER_FILTER``: besides the setting *names* Django
  already hides (``PASS``, ``KEY``, ``SECRET``, ...), it masks every setting and request value whose *value* holds
  credentials (a URL with a password, one of the portal's known secrets) or looks like one (:func:`looks_secret`: a
  URL with a user part or a token in its path or query, a long random-looking token), whatever its name.
- :class:`CredentialFormatter` formats the portal's log lines (``LOGGING`` in the settings) with the same masking,
  tracebacks included.
- :class:`CredentialReporter` is Django's ``DEFAULT_EXCEPTION_REPORTER``: it removes the known secrets from the
  finished error page or text once more, which also covers exception messages and local variables of the traceback
  (e.g. a connection URL inside a driver's frame), which no filter sees.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from django.conf import settings
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from .masking import MASK, mask_url

# Shorter secrets would blank out ordinary words of the page; they are still masked by name and inside URLs.
MIN_SECRET_LENGTH = 4


def _password_of(url: str) -> str | None:
    try:
        password = urlsplit(url).password
    except ValueError:
        return None
    return unquote(password) if password else None


def known_secrets() -> set[str]:
    """The credentials the portal is configured with: NEO4J_PASS, database passwords, passwords inside URL
    settings, the secret key; each also in the spellings a page may show it (URL-quoted, HTML-escaped, repr)."""
    found: set[str] = set()
    for name in dir(settings):
        if not name.isupper():
            continue
        value = getattr(settings, name, None)
        if type(value) is str and "://" in value:
            password = _password_of(value)
            if password:
                found.add(password)
    for name in ("NEO4J_PASS", "SECRET_KEY", "EMAIL_HOST_PASSWORD"):
        value = getattr(settings, name, None)
        if type(value) is str:
            found.add(value)
    for db in getattr(settings, "DATABASES", {}).values():
        if db.get("PASSWORD"):
            found.add(str(db["PASSWORD"]))
    spellings = set()
    for secret in found:
        if len(secret) < MIN_SECRET_LENGTH:
            continue
        for variant in (secret, quote(secret, safe=""), quote(secret), repr(secret)[1:-1]):
            spellings.update({variant, escape(variant)})
    return spellings


def scrub(text: str, secrets: set[str] | None = None) -> str:
    """``text`` with URL passwords and every known secret replaced by ``********``."""
    text = mask_url(text)
    for secret in sorted(known_secrets() if secrets is None else secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


#: a run of token characters long enough, with letters and digits mixed, to be a key rather than a word or a path
_TOKEN = re.compile(r"[A-Za-z0-9_\-]{20,}")


def _token_like(text: str) -> bool:
    for run in _TOKEN.findall(text):
        kinds = sum((any(c.isdigit() for c in run), any(c.islower() for c in run), any(c.isupper() for c in run)))
        if kinds >= 2 and any(c.isdigit() for c in run) and len(set(run)) >= 10:
            return True
    return False


def looks_secret(value: str) -> bool:
    """Whether a value has the shape of a credential: a URL with a user part (a DSN's key) or a token in its path
    or query (a chat webhook), or a long random-looking token on its own."""
    if "://" in value:
        try:
            parts = urlsplit(value.strip())
        except ValueError:
            return False
        if parts.username:
            return True
        return _token_like(parts.path) or _token_like(parts.query)
    return " " not in value.strip() and _token_like(value)


class CredentialFilter(SafeExceptionReporterFilter):
    """Hide settings and request values by what they hold, not only by their names."""

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        if type(cleansed) is str and cleansed != self.cleansed_substitute and looks_secret(cleansed):
            return self.cleansed_substitute
        if type(cleansed) is str and cleansed != self.cleansed_substitute:
            scrubbed = scrub(cleansed)
            if scrubbed != cleansed:
                return self.cleansed_substitute if MASK in scrubbed and "://" not in scrubbed else scrubbed
        return cleansed


class CredentialReporter(ExceptionReporter):
    """Django's error report with every known secret removed from what it renders."""

    def get_traceback_html(self) -> SafeString:
        return mark_safe(scrub(super().get_traceback_html()))  # Django's own page, only secrets replaced

    def get_traceback_text(self) -> SafeString:
        return mark_safe(scrub(super().get_traceback_text()))


class CredentialFormatter(logging.Formatter):
    """Log lines (and their tracebacks) with URL passwords and known secrets masked."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        try:
            return scrub(text)
        except Exception:  # settings not configured yet: URL passwords at least
            return mask_url(text)
