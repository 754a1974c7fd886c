"""Identities as CSV in the admin: export (the selection, or everything the list's filters match) and the import page
(upload, preview, confirm). The work is done by ``identities.csvfile`` and ``identities.importing``, as for the CLI."""

from __future__ import annotations

import base64
import datetime as dt
import secrets

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from identities import csvfile, importing
from identities.audit import Actor

SESSION_KEY = "identity-import"
# New identities one upload may create: each key is hashed with bcrypt (about 0.25 s), and the request must end.
ADMIN_MAX_NEW = 200


def csv_response(kind, nodes) -> StreamingHttpResponse:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(csvfile.csv_lines(kind, nodes, bom=True), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{kind.name}-identities-{stamp}.csv"'
    add_never_cache_headers(response)
    return response


def export_selected(model_admin, queryset) -> StreamingHttpResponse:
    return csv_response(model_admin.kind, csvfile.in_batches(queryset))


def export_filtered(model_admin, request: HttpRequest) -> StreamingHttpResponse:
    """Everything the list shows with the same search, filters and order (the query string is the list's)."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    changelist = model_admin.get_changelist_instance(request)
    return csv_response(model_admin.kind, csvfile.in_batches(changelist.queryset))


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=f"UTF-8 (with or without BOM), comma-separated, at most "
        f"{csvfile.MAX_BYTES // 1024 // 1024} MiB and {csvfile.MAX_ROWS} rows; columns "
        + ", ".join(csvfile.COLUMNS)
        + " (only identifier is required).",
    )


def _rights(model_admin, request) -> set[str]:
    return {
        name
        for name, allowed in [
            ("add", model_admin.has_add_permission(request)),
            ("change", model_admin.has_change_permission(request)),
            ("disable", model_admin.has_disable_permission(request)),
        ]
        if allowed
    }


def import_view(model_admin, request: HttpRequest) -> HttpResponse:
    may = _rights(model_admin, request)
    if not may & {"add", "change"}:
        raise PermissionDenied
    kind = model_admin.kind
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "kind": kind,
        "title": f"Import {kind.name} identities from CSV",
        "columns": csvfile.COLUMNS,
        "changelist_url": reverse(f"admin:{model_admin.opts.app_label}_{model_admin.opts.model_name}_changelist"),
    }
    template = "admin/identities/identity/import.html"
    if request.method == "POST" and "confirm" in request.POST:
        return _confirm(model_admin, request, may, context, template)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = upload.read(csvfile.MAX_BYTES + 1)
        try:
            text = csvfile.decode(data)
            plan = importing.plan_text(kind, text, may=may, max_new=ADMIN_MAX_NEW)
        except csvfile.CsvFileError as exc:
            form.add_error("file", str(exc))
        else:
            token = secrets.token_urlsafe(16)
            # Kept in the session until confirmed, so the confirmation applies exactly the file that was previewed.
            request.session[SESSION_KEY] = {"token": token, "kind": kind.name, "text": text}
            return TemplateResponse(
                request, template, {**context, "plan": plan, "token": token, "file_name": upload.name}
            )
    return TemplateResponse(request, template, {**context, "form": form})


def _confirm(model_admin, request, may, context, template) -> HttpResponse:
    kind = model_admin.kind
    pending = request.session.get(SESSION_KEY) or {}
    if pending.get("token") != request.POST.get("token") or pending.get("kind") != kind.name:
        model_admin.message_user(
            request,
            "That import is no longer waiting for confirmation (already applied, or "
            "replaced by another upload): upload the file again.",
            messages.ERROR,
        )
        return redirect(request.path)
    try:
        plan = importing.plan_text(kind, pending["text"], may=may, max_new=ADMIN_MAX_NEW)
    except csvfile.CsvFileError as exc:
        model_admin.message_user(request, str(exc), messages.ERROR)
        return redirect(request.path)
    if plan.digest() != request.POST.get("digest") or plan.errors:
        # The store changed since the preview: show what would happen now instead of doing something else.
        model_admin.message_user(
            request,
            "The identities changed since the preview: check the new preview and confirm again.",
            messages.WARNING,
        )
        return TemplateResponse(request, template, {**context, "plan": plan, "token": pending["token"]})
    del request.session[SESSION_KEY]
    result = importing.apply(plan, Actor.staff(request.user))
    if result.created or result.updated:
        model_admin.message_user(
            request, f"Import: {len(result.created)} created, {len(result.updated)} updated.", messages.SUCCESS
        )
    for failure in result.failed:
        model_admin.message_user(request, f"Not applied: {failure}", messages.ERROR)
    keys_url = ""
    if result.keys:
        encoded = base64.b64encode(csvfile.keys_csv(kind, result.keys).encode()).decode()
        keys_url = f"data:text/csv;charset=utf-8;base64,{encoded}"
    response = TemplateResponse(
        request,
        template,
        {**context, "result": result, "keys_url": keys_url, "keys_file": f"new-{kind.name}-identity-keys.csv"},
    )
    # The keys exist only in this response: never cached, never stored.
    add_never_cache_headers(response)
    return response
