"""Runbook reads."""

from __future__ import annotations

from django.db.models import F, QuerySet

from runbooks.models import RunbookVersion


def latest_versions() -> QuerySet[RunbookVersion]:
    """Each runbook's current version (the one its file last loaded as), by runbook slug."""
    return (
        RunbookVersion.objects.filter(runbook__current_version=F("pk"))
        .select_related("runbook")
        .order_by("runbook__slug")
    )


def latest_version(slug: str) -> RunbookVersion | None:
    """The current version of the runbook ``slug``, or None if there is no such runbook."""
    return latest_versions().filter(runbook__slug=slug).first()


def versions_of(slug: str) -> QuerySet[RunbookVersion]:
    """All versions of the runbook ``slug``, newest first."""
    return RunbookVersion.objects.filter(runbook__slug=slug).order_by("-number")


def queues_in_use() -> list[str]:
    """Every worker queue a loaded runbook version routes a step to, plus "default"."""
    queues = {"default"}
    for spec in RunbookVersion.objects.values_list("spec", flat=True):
        for phase in spec.get("phases", []):
            queues.update(step["queue"] for step in phase.get("steps", []) if step.get("queue"))
    return sorted(queues)
