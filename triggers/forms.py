"""Input validation for the receivers page and a proposal's decline."""

from __future__ import annotations

from typing import Any

from django import forms

from runbooks.models import Runbook
from triggers.models import Receiver


class ReceiverForm(forms.Form):
    kind = forms.ChoiceField(choices=Receiver.Kind.choices)
    runbook = forms.ModelChoiceField(
        queryset=Runbook.objects.exclude(current_version=None), to_field_name="slug"
    )
    environment = forms.CharField(max_length=63)
    name = forms.CharField(max_length=200, required=False, help_text="Who sends here, for you.")
    secret = forms.CharField(
        max_length=500,
        required=False,
        help_text="PagerDuty only: the webhook subscription's signing secret (generated if empty).",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        runbook = data.get("runbook")
        environment = data.get("environment")
        if runbook is not None and environment and runbook.current_version is not None:
            known = {e.id for e in runbook.current_version.parsed().environments}
            if environment not in known:
                self.add_error(
                    "environment", f"Runbook {runbook.slug} has: {', '.join(sorted(known))}."
                )
        if data.get("secret") and data.get("kind") != Receiver.Kind.PAGERDUTY:
            self.add_error("secret", "Only PagerDuty receivers take a signing secret.")
        return data


class DeclineForm(forms.Form):
    reason = forms.CharField(max_length=2000)
