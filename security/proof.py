"""Step-up ("sudo mode"): destructive actions need a recent proof that the person at the keyboard is the account's
owner: the second factor, or the password for staff without one. The time of the last proof lives in the session."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

PROOF_KEY = "portal_proof_at"
STASH_KEY = "portal_step_up"


def mark(request: HttpRequest) -> None:
    request.session[PROOF_KEY] = time.time()


@receiver(user_logged_in, dispatch_uid="portal-password-proof")
def _password_is_a_proof(sender, request, user, **kwargs) -> None:
    # Staff with a second factor are asked for it right after the password, and that marks the proof again.
    if request is not None and hasattr(request, "session"):
        mark(request)


def age(request: HttpRequest) -> float:
    return time.time() - float(request.session.get(PROOF_KEY, 0))


def is_recent(request: HttpRequest) -> bool:
    return age(request) <= settings.STEP_UP_SECONDS


def require(request: HttpRequest, what: str, *, replay: bool = True) -> HttpResponse | None:
    """None when the last proof is recent; otherwise a redirect to the step-up page, which brings the person back
    to this request afterwards (a GET is repeated; a POST's fields are kept and sent again with a button).

    ``replay=False`` for a POST that carries a secret (a new password): its fields would be kept in the session, a
    database row, so the person is brought back to the empty form (a GET of the same URL) instead."""
    if is_recent(request):
        return None
    if request.method == "POST" and replay:
        stash: dict[str, Any] = {"url": request.get_full_path(), "method": "POST", "what": what}
        stash["post"] = {k: request.POST.getlist(k) for k in request.POST if k != "csrfmiddlewaretoken"}
    else:
        stash = {"url": request.get_full_path(), "method": "GET", "what": what}
    request.session[STASH_KEY] = stash
    return HttpResponseRedirect(reverse("step-up"))
