from __future__ import annotations

from django import forms

from common.models import ApiToken


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=ApiToken._meta.get_field("name").max_length,
        help_text="What the token is for, e.g. “CI pipeline” or “alert bridge”.",
    )
