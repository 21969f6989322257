"""Input validation for the incident pages' forms."""

from __future__ import annotations

from typing import Any

from django import forms

from incidents.models import Incident
from incidents.services.opening import production_refusal
from runbooks.models import RunbookVersion
from runbooks.selectors import latest_versions


class OpenIncidentForm(forms.Form):
    version = forms.TypedChoiceField(label="Runbook", coerce=int)
    environment = forms.ChoiceField()
    title = forms.CharField(max_length=200, help_text="What is happening, in a few words.")
    severity = forms.ChoiceField(choices=Incident.Severity.choices, initial=Incident.Severity.SEV2)
    is_drill = forms.BooleanField(required=False, label="This is a drill")
    confirm_environment = forms.CharField(
        required=False,
        max_length=63,
        label="Confirm production",
        help_text="Production only: type the environment's name to open a real incident there.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
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
        return data


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
