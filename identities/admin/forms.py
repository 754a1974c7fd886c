"""Forms of the identity admin. They validate with the same rules the services enforce, and never keep a key."""

from __future__ import annotations

from django import forms

from identities import inventory, services
from identities.rules import (
    IDENTIFIER_RULE,
    KEY_MAX,
    KEY_RULE,
    IdentityError,
    check_scope_count,
    validate_identifier,
    validate_key,
)
from identities.scope import SCOPE_RULE, InvalidScope, Scope, parse_scopes

SCOPES_HELP = "One scope per line. " + SCOPE_RULE[0].upper() + SCOPE_RULE[1:] + "."
EXPIRES_HELP = (
    "Optional, in UTC. alchemiscale itself does not check expiry: the portal locks expired identities out "
    "when `manage.py identity lock-expired` runs (schedule it, e.g. every few minutes)."
)


def _scope_lines(text: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    try:
        return [str(s) for s in parse_scopes(lines)]
    except InvalidScope as exc:
        raise forms.ValidationError(str(exc)) from None


def describe_scope(text: str) -> str:
    """A scope with what it covers, for the scopes editor."""
    try:
        scope = Scope.from_str(text)
    except InvalidScope:
        return f"{text} — not a valid scope (alchemiscale would refuse it)"
    words = f"{text} — {scope.describe()}"
    if scope.is_wildcard:
        covered = inventory.covered_data_scopes(scope, inventory.data_scopes())
        shown = ", ".join(covered[:10]) + (f" and {len(covered) - 10} more" if len(covered) > 10 else "")
        words += f"; in the data now: {shown}" if covered else "; no data in the store under it yet"
    return words


class _NodeForm(forms.ModelForm):
    """A ModelForm only so the admin's helpers find ``_meta``; every field is declared, none comes from the node."""

    kind = None

    def _post_clean(self):
        # The services validate and write; neomodel's own full_clean would demand fields this form does not edit.
        pass

    def _clean_details(self, cleaned):
        details = {name: cleaned.get(name) for name in self.kind.detail_fields if name in self.fields}
        try:
            return services.clean_details(self.kind, details)
        except IdentityError as exc:
            raise forms.ValidationError(str(exc)) from None


class AddIdentityForm(_NodeForm):
    identifier = forms.CharField(max_length=512, help_text=IDENTIFIER_RULE[0].upper() + IDENTIFIER_RULE[1:] + ".")
    key_choice = forms.ChoiceField(
        label="Key",
        widget=forms.RadioSelect(attrs={"class": "radiolist"}),
        initial="generate",
        choices=[
            ("generate", "generate a key (64 hex characters, shown once after saving)"),
            ("enter", "use the key entered below"),
        ],
    )
    key = forms.CharField(
        required=False,
        max_length=KEY_MAX,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=KEY_RULE[0].upper() + KEY_RULE[1:] + ". It is stored only as a bcrypt hash.",
    )
    scopes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text=SCOPES_HELP)
    email = forms.EmailField(required=False, max_length=services.EMAIL_MAX)
    full_name = forms.CharField(required=False, max_length=services.FULL_NAME_MAX)
    expires = forms.DateTimeField(required=False, help_text=EXPIRES_HELP)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "full_name" not in self.kind.detail_fields:
            del self.fields["full_name"]

    def clean_identifier(self):
        identifier = self.cleaned_data["identifier"]
        try:
            validate_identifier(identifier)
        except IdentityError as exc:
            raise forms.ValidationError(str(exc)) from None
        if services.get_identity(self.kind, identifier) is not None:
            raise forms.ValidationError(f"a {self.kind.name} identity {identifier!r} already exists")
        return identifier

    def clean_scopes(self):
        scopes = list(dict.fromkeys(_scope_lines(self.cleaned_data["scopes"])))
        try:
            check_scope_count(self.data.get("identifier") or "the new identity", len(scopes))
        except IdentityError as exc:
            raise forms.ValidationError(str(exc)) from None
        return scopes

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("key_choice") == "enter":
            try:
                validate_key(cleaned.get("key") or "")
            except IdentityError as exc:
                self.add_error("key", str(exc))
        cleaned["details"] = self._clean_details(cleaned)
        return cleaned


class _ScopeChoiceField(forms.MultipleChoiceField):
    """Checks the ticked scopes against one set of the choices: Django's own check walks every choice for every
    ticked value, quadratic in an identity's scopes."""

    def validate(self, value):
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        allowed = {str(key) for key, _ in self.choices}
        for val in value:
            if val not in allowed:
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": val}
                )


class ChangeIdentityForm(_NodeForm):
    keep_scopes = _ScopeChoiceField(
        # "radiolist": the admin's CSS then gives the choices' labels their full width instead of the label column's.
        label="Granted scopes",
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "radiolist"}),
        help_text="Untick a scope to remove it. " + services.TOKEN_NOTE,
    )
    add_scopes = forms.CharField(
        label="Add scopes", required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text=SCOPES_HELP
    )
    email = forms.EmailField(required=False, max_length=services.EMAIL_MAX)
    full_name = forms.CharField(required=False, max_length=services.FULL_NAME_MAX)
    expires = forms.DateTimeField(required=False, help_text=EXPIRES_HELP)

    def __init__(self, *args, instance=None, **kwargs):
        current = list(instance.scopes or []) if instance is not None else []
        initial = kwargs.pop("initial", None) or {}
        initial.update({"keep_scopes": current})
        if instance is not None:
            initial.update({name: getattr(instance, name, None) for name in self.kind.detail_fields})
            if initial.get("expires") is not None:
                # The widget shows whole seconds; without this an untouched expiry would count as changed.
                initial["expires"] = initial["expires"].replace(microsecond=0)
        super().__init__(*args, instance=instance, initial=initial, **kwargs)
        self.fields["keep_scopes"].choices = [(s, describe_scope(s)) for s in current]
        if "full_name" not in self.kind.detail_fields:
            del self.fields["full_name"]

    def clean_add_scopes(self):
        return _scope_lines(self.cleaned_data["add_scopes"])

    def clean(self):
        cleaned = super().clean()
        # Applied as a difference (remove the unticked, add the new), so a scope granted meanwhile elsewhere stays.
        kept = set(cleaned.get("keep_scopes") or [])
        current = [s for s, _ in self.fields["keep_scopes"].choices]
        cleaned["removed_scopes"] = [s for s in current if s not in kept]
        try:
            check_scope_count(self.instance.identifier, len(kept | set(cleaned.get("add_scopes") or [])), len(current))
        except IdentityError as exc:
            self.add_error("add_scopes", str(exc))
        cleaned["details"] = self._clean_details(cleaned)
        return cleaned


class ScopeActionForm(forms.Form):
    scope = forms.CharField(max_length=200, help_text=SCOPE_RULE[0].upper() + SCOPE_RULE[1:] + ".")

    def clean_scope(self):
        try:
            return str(Scope.from_str(self.cleaned_data["scope"].strip()))
        except InvalidScope as exc:
            raise forms.ValidationError(str(exc)) from None
