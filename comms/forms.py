from __future__ import annotations

from django import forms

from comms.services import BODY_MAX_LENGTH


class SendForm(forms.Form):
    item = forms.SlugField(max_length=63)
    phase = forms.SlugField(max_length=63, required=False)
    body = forms.CharField(max_length=BODY_MAX_LENGTH, strip=True)
