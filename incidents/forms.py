"""Input validation for the incident pages' forms."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.core.validators import RegexValidator

from incidents.models import FollowUp, Incident
from incidents.parameters import check_parameters
from incidents.services.opening import production_refusal
from runbooks.models import RunbookVersion
from runbooks.selectors import latest_versions
from runbooks.specs import PARAMETER_VALUE_MAX_LENGTH, ParameterSpec


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
    confirm_environment = forms.CharField(
        required=False,
        max_length=63,
        label="Confirm production",
        help_text="Production only: type the environment's name to open a real incident there.",
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
        self.parameters = list(chosen.parsed().parameters) if chosen else []
        for parameter in self.parameters:
            self.fields[PARAMETER_PREFIX + parameter.name] = parameter_field(parameter)

    def parameter_fields(self) -> list[forms.BoundField]:
        """The runbook's parameters (rendered apart: they change with the runbook)."""
        return [self[PARAMETER_PREFIX + p.name] for p in self.parameters]

    def other_fields(self) -> list[forms.BoundField]:
        return [f for f in self if not f.name.startswith(PARAMETER_PREFIX)]

    def _chosen_version(self) -> RunbookVersion | None:
        raw = self.data.get("version") if self.is_bound else self.initial.get("version")
        try:
            return self.versions.get(int(raw)) if raw else next(iter(self.versions.values()), None)
        except ValueError:
            return None

    def clean_version(self) -> RunbookVersion:
        pk = self.cleaned_data["version"]
        if pk not in self.versions:
            raise forms.ValidationError("Choose a loaded runbook.")
        return self.versions[pk]

    def clean(self) -> dict[str, Any]:
        """Production's rules, shown at the field they concern (the service checks them too)."""
        data = super().clean() or {}
        version, env_id = data.get("version"), data.get("environment")
        if isinstance(version, RunbookVersion) and env_id:
            env = next((e for e in version.parsed().environments if e.id == env_id), None)
            if env is not None:
                refusal = production_refusal(
                    env,
                    is_drill=bool(data.get("is_drill")),
                    confirmation=data.get("confirm_environment", ""),
                )
                if refusal is not None:
                    self.add_error(refusal[0], refusal[1])
        if isinstance(version, RunbookVersion):
            given = {
                p.name: data.get(PARAMETER_PREFIX + p.name) or ""
                for p in self.parameters
                if PARAMETER_PREFIX + p.name in data
            }
            values, problems = check_parameters(version.parsed(), given)
            for name, problem in problems.items():
                field = PARAMETER_PREFIX + name
                self.add_error(field if field in self.fields else None, f"{name}: {problem}")
            data["parameters"] = values
        return data


PARAMETER_PREFIX = "param_"


def parameter_field(parameter: ParameterSpec) -> forms.Field:
    """A form field for one runbook parameter; its rules are checked in ``clean``."""
    hint = parameter.description
    if parameter.pattern:
        hint = f"{hint} (pattern: {parameter.pattern})".strip()
    common: dict[str, Any] = {
        "label": parameter.name,
        "required": False,  # a blank takes the default; "required" is check_parameters' word
        "initial": parameter.default,
        "help_text": hint,
    }
    if parameter.choices:
        blank = [] if parameter.required else [("", "—")]
        return forms.ChoiceField(choices=blank + [(c, c) for c in parameter.choices], **common)
    return forms.CharField(max_length=PARAMETER_VALUE_MAX_LENGTH, strip=False, **common)


def environment_choices(version: RunbookVersion) -> list[tuple[str, str]]:
    return [
        (env.id, f"{env.title} (production)" if env.is_production else env.title)
        for env in version.parsed().environments
    ]


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


class FollowUpForm(forms.Form):
    """A follow-up's editable fields, all given at once by the panel's form."""

    assignee = forms.IntegerField(required=False, min_value=1)
    due_on = forms.DateField(required=False)
    status = forms.ChoiceField(choices=FollowUp.Status.choices)
    link = forms.URLField(required=False, max_length=500, assume_scheme="https")
    notes = forms.CharField(required=False, max_length=4000, strip=False)
