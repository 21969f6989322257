"""Runbooks as loaded from files. A version is immutable: a changed file becomes a new one."""

from __future__ import annotations

from django.db import models

from runbooks.specs import RunbookSpec

_PARSED: dict[tuple[int, str], RunbookSpec] = {}  # RunbookVersion.parsed, by (pk, content hash)
_PARSED_MAX = 64


class Runbook(models.Model):
    slug = models.SlugField(max_length=63, unique=True)
    title = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    # The version the runbook's file last loaded as. Usually the highest number,
    # but not after a file is reverted to earlier content: that content already
    # has a version (one per content hash), which becomes current again.
    current_version = models.ForeignKey(
        "RunbookVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class RunbookVersion(models.Model):
    """One loaded revision of a runbook file (and the script files it ships).

    Rows are only ever inserted: an incident keeps the version it opened with,
    so what it executes never changes underneath it.
    """

    runbook = models.ForeignKey(Runbook, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    content_sha256 = models.CharField(max_length=64)
    source_path = models.CharField(max_length=500)
    source = models.TextField()
    spec = models.JSONField()
    # Files the runbook ships beside it (scripts), keyed by path relative to the runbook.
    files = models.JSONField(default=dict)
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["runbook__slug", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["runbook", "number"], name="runbook_version_number"),
            models.UniqueConstraint(
                fields=["runbook", "content_sha256"], name="runbook_version_content"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.runbook.slug} v{self.number}"

    def parsed(self) -> RunbookSpec:
        """The validated spec, validated once per process: a stored version never changes,
        and the spec models are frozen, so one copy is shared. Validating a 1,000-step
        spec took ~15 ms, paid twice by every incident page and by some pushes."""
        if self.pk is None:
            return RunbookSpec.model_validate(self.spec)
        key = (self.pk, self.content_sha256)
        spec = _PARSED.get(key)
        if spec is None:
            if len(_PARSED) >= _PARSED_MAX:
                _PARSED.clear()
            spec = _PARSED[key] = RunbookSpec.model_validate(self.spec)
        return spec
