"""The portal's Docker healthchecks. portal-web (no argument): the admin's login page answers 200 on the address
gunicorn binds. portal-beat (``beat``): celery beat's heartbeat in Redis is fresh (docs/unattended.md).

Python's urllib only (the image has no curl). The request carries what the reverse proxy would send: a Host the
portal accepts (the first of PORTAL_ALLOWED_HOSTS) and ``X-Forwarded-Proto: https``, so production's HTTPS redirect
is not taken for an error and the check never follows a redirect out of the container.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer, not a page: report it instead of following it


def main() -> int:
    bind = os.environ.get("PORTAL_BIND", "0.0.0.0:8000")
    port = bind.rsplit(":", 1)[1]
    host = os.environ.get("PORTAL_ALLOWED_HOSTS", "localhost").split(",")[0].strip().lstrip(".")
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/admin/login/",
        headers={"Host": "localhost" if host in ("", "*") else host, "X-Forwarded-Proto": "https"},
    )
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError as exc:
        print(f"login page: {exc}", file=sys.stderr)
        return 1
    print(f"login page: HTTP {status}")
    return 0 if status == 200 else 1


def beat() -> int:
    import django

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alchemiscale_portal.settings")
    django.setup()
    from operations.unattended.beat import beat_alive

    alive, words = beat_alive()
    print(words)
    return 0 if alive else 1


if __name__ == "__main__":
    sys.exit(beat() if sys.argv[1:] == ["beat"] else main())
