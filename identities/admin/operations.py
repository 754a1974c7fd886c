"""Rotate key, disable, enable, delete and bulk scope changes: one confirmation page, one runner, for both the
changelist's actions and the buttons on an identity's page. Each calls the same service functions as the CLI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.admin import helpers
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers

from identities import services
from identities.audit import Actor
from identities.rules import IdentityError
from security import proof

from .forms import ScopeActionForm

SHOWN = 50


@dataclass(frozen=True)
class Operation:
    name: str
    title: str
    button: str
    permission: str  # ModelAdmin.has_<permission>_permission
    limit: int
    notes: tuple[str, ...] = ()
    needs_scope: bool = False
    destructive: bool = False
    # asks for a recent proof of the person (security/proof.py) before the confirmation page and the change
    step_up: bool = False


OPERATIONS = {
    op.name: op
    for op in [
        Operation(
            "rotate",
            "Rotate key",
            "Rotate the key",
            "rotate_key",
            20,
            (
                "A new key is generated for each identity and shown once on the next page; the old key stops working "
                "at once. Scopes stay as they are.",
                services.TOKEN_NOTE,
            ),
            destructive=True,
            step_up=True,
        ),
        Operation(
            "disable",
            "Disable",
            "Disable",
            "disable",
            200,
            (services.DISABLE_NOTE, services.TOKEN_NOTE),
            destructive=True,
        ),
        Operation("enable", "Enable", "Enable", "disable", 200, ("Each identity gets its previous key back.",)),
        Operation(
            "delete",
            "Delete",
            "Yes, delete",
            "delete",
            1000,
            ("The identity nodes are removed from the state store; this cannot be undone.", services.TOKEN_NOTE),
            destructive=True,
            step_up=True,
        ),
        Operation("add_scope", "Add a scope", "Add the scope", "change", 100_000, (), needs_scope=True),
        Operation(
            "remove_scope",
            "Remove a scope",
            "Remove the scope",
            "change",
            100_000,
            (services.TOKEN_NOTE,),
            needs_scope=True,
            destructive=True,
        ),
    ]
}


@dataclass
class Outcome:
    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    keys: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _perform(model_admin, op: Operation, identifiers: list[str], actor: Actor, scope: str | None) -> Outcome:
    kind, outcome = model_admin.kind, Outcome()
    if op.needs_scope:
        assert scope is not None  # the form asks for one
        bulk = services.bulk_add_scope if op.name == "add_scope" else services.bulk_remove_scope
        try:
            count = bulk(kind, identifiers, scope, actor)
        except IdentityError as exc:
            outcome.failed.append(str(exc))
            return outcome
        # Each message names its subject after a word: the admin capitalises a message's first letter, which would
        # misstate a case-sensitive scope or identifier.
        outcome.notes.append(
            f"Scope {scope} {'added to' if op.name == 'add_scope' else 'removed from'} {count} "
            f"{kind.name} identit{'y' if count == 1 else 'ies'} ({len(identifiers) - count} "
            "already as asked)"
        )
        return outcome
    each: dict[str, Callable[[str], object]] = {
        "rotate": lambda i: outcome.keys.append((i, services.rotate_key(kind, i, None, actor))),
        "disable": lambda i: services.disable_identity(kind, i, actor),
        "enable": lambda i: outcome.notes.append(f"Identity {i}: {services.enable_identity(kind, i, actor)}"),
        "delete": lambda i: services.remove_identity(kind, i, actor),
    }
    for identifier in identifiers:
        try:
            each[op.name](identifier)
            outcome.done.append(identifier)
        except IdentityError as exc:
            outcome.failed.append(f"Identity {identifier}: {exc}")
    return outcome


def run(
    model_admin,
    request: HttpRequest,
    op_name: str,
    identifiers: list[str],
    *,
    from_action: bool,
    done_url: str | None = None,
) -> HttpResponse | None:
    """Show the confirmation page, or (on its POST) do the work; None means "back to the list"."""
    op = OPERATIONS[op_name]
    kind = model_admin.kind
    if len(identifiers) > op.limit:
        model_admin.message_user(
            request,
            f"{op.title} works on at most {op.limit} identities at a time; "
            f"{len(identifiers)} were selected. Narrow the selection.",
            messages.ERROR,
        )
        return None
    if op.step_up and (step_up := proof.require(request, f"{op.title.lower()} {kind.name} identities")):
        return step_up
    confirmed = request.method == "POST" and request.POST.get("confirm") == "yes"
    form = ScopeActionForm(request.POST if confirmed else None) if op.needs_scope else None
    if confirmed and (form is None or form.is_valid()):
        outcome = _perform(
            model_admin, op, identifiers, Actor.staff(request.user), form.cleaned_data["scope"] if form else None
        )
        for note in outcome.notes:
            model_admin.message_user(request, note, messages.SUCCESS)
        if outcome.done and not outcome.keys:
            model_admin.message_user(
                request,
                f"{op.title}: done for {', '.join(outcome.done[:SHOWN])}"
                + (" and more" if len(outcome.done) > SHOWN else ""),
                messages.SUCCESS,
            )
        for failure in outcome.failed:
            model_admin.message_user(request, failure, messages.ERROR)
        if op.destructive and outcome.done or op.name == "remove_scope":
            model_admin.message_user(request, services.TOKEN_NOTE, messages.WARNING)
        if outcome.keys:
            return key_page(model_admin, request, outcome.keys, f"New keys ({kind.name} identities)", done_url)
        return None
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": f"{op.title}: {len(identifiers)} {kind.name} identit{'y' if len(identifiers) == 1 else 'ies'}",
        "op": op,
        "identifiers": identifiers[:SHOWN],
        "more": max(len(identifiers) - SHOWN, 0),
        "form": form,
        "from_action": from_action,
        "action_name": request.POST.get("action", ""),
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across", "0"),
    }
    return TemplateResponse(request, "admin/identities/identity/confirm_operation.html", context)


def key_page(
    model_admin, request: HttpRequest, keys: list[tuple[str, str]], title: str, done_url: str | None
) -> HttpResponse:
    """The only place a key is ever shown: this one response, never cached, never stored."""
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": title,
        "keys": keys,
        "kind": model_admin.kind,
        "done_url": done_url or request.get_full_path(),
    }
    response = TemplateResponse(request, "admin/identities/identity/key_once.html", context)
    add_never_cache_headers(response)
    return response
