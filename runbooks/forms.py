"""The import page's form: a Markdown file or pasted text, and an optional runbook id."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import RegexValidator

PAGE_MAX_BYTES = 2 * 1024 * 1024
"""What the page takes: the preview posts the document back to save or download it as a form
field, and Django refuses a request whose fields pass DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB).
Larger documents (up to the importer's 6 MB) go through ``manage.py import_runbook``."""
TOO_LARGE = (
    "The page takes documents up to 2 MB; import a larger one with manage.py import_runbook."
)


class ImportForm(forms.Form):
    document = forms.FileField(label="Markdown file", required=False)
    text = forms.CharField(
        label="…or paste the Markdown",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
    )
    runbook_id = forms.CharField(
        label="Runbook id",
        required=False,
        help_text="Leave empty to take it from the title. An existing id gets a new version.",
        validators=[RegexValidator(r"^[a-z0-9][a-z0-9_-]{0,62}$", "a-z, 0-9, _ and -, at most 63")],
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        document, text = data.get("document"), data.get("text")
        if bool(document) == bool(text):
            raise forms.ValidationError("Give a Markdown file or paste its text (one of them).")
        if document is not None and document.size > PAGE_MAX_BYTES:
            raise forms.ValidationError(TOO_LARGE)
        if text and len(text.encode()) > PAGE_MAX_BYTES:
            raise forms.ValidationError(TOO_LARGE)
        return data

    def source(self) -> tuple[bytes, str]:
        """The document's bytes and the name its problems are reported under."""
        document = self.cleaned_data.get("document")
        if document is not None:
            return document.read(), document.name or "upload.md"
        return self.cleaned_data["text"].encode(), "pasted.md"


class ImportedForm(forms.Form):
    """What the preview page posts back to download or save: the same source, imported again."""

    source = forms.CharField(strip=False, widget=forms.HiddenInput)
    name = forms.CharField(widget=forms.HiddenInput)
    runbook_id = forms.CharField(
        required=False,
        widget=forms.HiddenInput,
        validators=[RegexValidator(r"^[a-z0-9][a-z0-9_-]{0,62}$")],
    )
