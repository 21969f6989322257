"""Input validation for the incident pages' forms."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.core.validators import RegexValidator

from incidents.models import Incident
from runbooks.models import RunbookVersion
from runbooks.selectors import latest_versions


class OpenIncidentForm(forms.Form):
    version = forms.TypedChoiceField(label="Runbook", coerce=int)
    environment = forms.ChoiceField()
    title = forms.CharField(max_length=200, help_text="What is happening, in a few words.")
    severity = forms.ChoiceField(choices=Incident.Severity.choices, initial=Incident.Severity.SEV2)
    is_drill = forms.BooleanField(required=False, label="This is a drill")
    # One per form shown: sending this form twice (a double click, back and resubmit)
    # opens one incident (services.open_incident_once).
    open_key = forms.CharField(
        widget=forms.HiddenInput,
        required=False,
        max_length=64,
        validators=[RegexValidator(r"^[A-Za-z0-9_-]*$", "The form's token is malformed.")],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["open_key"].initial = uuid.uuid4().hex
        self.versions = {v.pk: v for v in latest_versions()}
        field = self.fields["version"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(pk, f"{v.parsed().title} ({v})") for pk, v in self.versions.items()]
        field.widget.attrs.update(
            {"hx-get": "environments/", "hx-target": "#id_environment", "hx-swap": "outerHTML"}
        )
        chosen = self._chosen_version()
        env_field = self.fields["environment"]
        assert isinstance(env_field, forms.ChoiceField)
        env_field.choices = environment_choices(chosen) if chosen else []

    def _chosen_version(self) -> RunbookVersion | None:
        raw = self.data.get("version") if self.is_bound else None
        try:
            return self.versions.get(int(raw)) if raw else next(iter(self.versions.values()), None)
        except ValueError:
            return None

    def clean_version(self) -> RunbookVersion:
        pk = self.cleaned_data["version"]
        if pk not in self.versions:
            raise forms.ValidationError("Choose a loaded runbook.")
        return self.versions[pk]


def environment_choices(version: RunbookVersion) -> list[tuple[str, str]]:
    return [(env.id, env.title) for env in version.parsed().environments]


class SkipForm(forms.Form):
    reason = forms.CharField(max_length=2000)


class NoteForm(forms.Form):
    text = forms.CharField(max_length=4000)


class AssignForm(forms.Form):
    role = forms.CharField(max_length=63)
    user = forms.IntegerField(min_value=1)


class IncidentFilterForm(forms.Form):
    """The incident list's search, filters and order (GET; bad values are ignored)."""

    q = forms.CharField(required=False, max_length=200, label="Search")
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *Incident.Status.choices]
    )
    severity = forms.ChoiceField(
        required=False, choices=[("", "Any severity"), *Incident.Severity.choices]
    )
    environment = forms.CharField(required=False, max_length=63)
    sort = forms.ChoiceField(
        required=False,
        choices=[
            ("severity", "Severity, then activity"),
            ("activity", "Latest activity"),
            ("opened", "Most recently opened"),
        ],
    )

    def filters(self) -> dict[str, str]:
        """What the selector takes; an invalid field counts as not set."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "query": data.get("q") or "",
            "status": data.get("status") or "",
            "severity": data.get("severity") or "",
            "environment": data.get("environment") or "",
            "sort": data.get("sort") or "severity",
        }
