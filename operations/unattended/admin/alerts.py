"""Alerts in the admin: every alert sent (read-only, with its deliveries), and where alerts go."""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.validators import validate_email
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from operations.admin.records import RecordAdmin, SingletonAdmin
from operations.models import Alert, AlertSettings

from .. import alerts, webhooks


@admin.register(Alert)
class AlertAdmin(RecordAdmin):
    list_display = ("opened_at", "kind", "subject", "state", "delivered")
    list_filter = ("kind", ("resolved_at", admin.EmptyFieldListFilter))
    search_fields = ("subject", "key")
    fieldsets = [
        (None, {"fields": ["kind", "key", "subject", "message", "opened_at", "notified_at"]}),
        ("Resolution", {"fields": ["resolved_at", "resolved_message", "resolved_notified_at"]}),
        ("Deliveries", {"fields": ["deliveries_display"]}),
    ]
    readonly_fields = [f.name for f in Alert._meta.fields] + ["deliveries_display"]

    @admin.display(description="state")
    def state(self, alert: Alert) -> str:
        if alert.is_open:
            return mark_safe('<span class="alert-open" style="color:#c62828">open</span>')
        return format_html('<span class="alert-resolved">resolved {}</span>', f"{alert.resolved_at:%Y-%m-%d %H:%M} UTC")

    @admin.display(description="delivered")
    def delivered(self, alert: Alert) -> str:
        failed = [d for d in alert.deliveries if not d["ok"]]
        if alert.notified_at is None:
            return format_html(
                '<span style="color:#c62828">not yet: {}</span>', failed[-1]["error"] if failed else "pending"
            )
        channels = sorted({d["channel"] for d in alert.deliveries if d["ok"]})
        return ", ".join(channels)

    @admin.display(description="deliveries")
    def deliveries_display(self, alert: Alert) -> str:
        lines = [
            f"{d['at'][:19].replace('T', ' ')} UTC  {d['event']:8} {d['channel']:7} "
            f"{'ok' if d['ok'] else 'FAILED'}  {d['to']}  {d['error']}"
            for d in alert.deliveries
        ]
        return format_html("<pre>{}</pre>", "\n".join(lines) or "none")


class AlertSettingsForm(forms.ModelForm):
    remove_webhook = forms.BooleanField(required=False, help_text="tick to remove the saved webhook")

    class Meta:
        model = AlertSettings
        fields = ["recipients", "webhook_url", "min_free_mib", "expiring_within_days"]
        labels = {
            "webhook_url": "Webhook URL",
            "min_free_mib": "Minimum free space (MiB)",
            "expiring_within_days": "Warn of identities expiring within (days)",
        }
        # The URL is a credential (Slack's secret is its path): not sent back to the page once saved.
        widgets = {"webhook_url": forms.PasswordInput(render_value=False, attrs={"size": 60})}

    def clean_recipients(self) -> str:
        raw = self.cleaned_data.get("recipients") or ""
        listed = [a.strip() for a in re.split(r"[,\s]+", raw) if a.strip()]
        wrong = []
        for address in listed:
            try:
                validate_email(address)
            except forms.ValidationError:
                wrong.append(address)
        if wrong:
            raise forms.ValidationError(f"not an e-mail address: {', '.join(wrong)}")
        return ", ".join(listed)

    def clean_webhook_url(self) -> str:
        url = (self.cleaned_data.get("webhook_url") or "").strip()
        if self.data.get("remove_webhook"):
            return ""
        if not url:  # the field never shows what is saved: left empty, the saved URL stays
            return self.instance.webhook_url
        try:
            webhooks.check_url(url)
        except webhooks.WebhookRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        return url


@admin.register(AlertSettings)
class AlertSettingsAdmin(SingletonAdmin):
    form = AlertSettingsForm
    fields = ["recipients", "webhook_url", "remove_webhook", "min_free_mib", "expiring_within_days", "effective"]
    readonly_fields = ["effective"]
    change_form_template = "admin/operations/alertsettings/change_form.html"

    def get_urls(self):
        send = self.admin_site.admin_view(self.send_test_view)
        return [path("send-test/", send, name="operations_alertsettings_send_test"), *super().get_urls()]

    def send_test_view(self, request: HttpRequest) -> HttpResponse:
        """*Send a test alert*: a message on every channel now (as `manage.py check-alerts --test`), each channel's
        answer shown; saved settings only, so save a change first."""
        if request.method != "POST":
            return redirect("admin:operations_alertsettings_changelist")
        if not self.has_change_permission(request):
            raise PermissionDenied
        for answer in alerts.send_test():
            to = f" to {answer['to']}" if answer["to"] else ""
            if answer["ok"]:
                self.message_user(request, f"Test alert sent by {answer['channel']}{to}.", messages.SUCCESS)
            else:
                text = f"Test alert not sent by {answer['channel']}{to}: {answer['error']}"
                self.message_user(request, text, messages.ERROR)
        return redirect("admin:operations_alertsettings_changelist")

    @admin.display(description="alerts go to")
    def effective(self, row: AlertSettings) -> str:
        to = alerts.recipients(row)
        url = alerts.webhook_url(row)
        return format_html(
            "e-mail: {}<br>webhook: {}<br>(the environment's PORTAL_ALERT_EMAILS are added; "
            "PORTAL_ALERT_WEBHOOK_URL applies when the field is empty)",
            ", ".join(to) or "nobody",
            webhooks.masked(url) if url else "none",
        )
