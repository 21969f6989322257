"""Reads of drill scorecards for the runbook page: the history and the "last drill" badge."""

from __future__ import annotations

from dataclasses import dataclass

from incidents.models import DrillScorecard
from runbooks.models import RunbookVersion


@dataclass(frozen=True)
class LastDrill:
    scorecard: DrillScorecard
    is_stale: bool  # a newer version of the runbook exists than the one drilled


def history(slug: str, limit: int = 20) -> list[DrillScorecard]:
    return list(
        DrillScorecard.objects.filter(runbook_version__runbook__slug=slug)
        .select_related("runbook_version", "incident")
        .order_by("-computed_at")[:limit]
    )


def last_drill(slug: str, current: RunbookVersion) -> LastDrill | None:
    rows = history(slug, limit=1)
    if not rows:
        return None
    return LastDrill(rows[0], is_stale=rows[0].runbook_version.number < current.number)


def scorecard_of(incident_id: int) -> DrillScorecard | None:
    return DrillScorecard.objects.filter(incident_id=incident_id).first()
