"""Keep a drill's scorecard when it resolves (``incidents.scorecard`` computes it)."""

from __future__ import annotations

from django.utils import timezone

from incidents import scorecard
from incidents.models import DrillScorecard, Incident


def record_scorecard(incident: Incident) -> DrillScorecard | None:
    """Score a resolved drill (callers hold the incident lock); real incidents get none."""
    if not incident.is_drill:
        return None
    data = scorecard.compute(incident)
    row, _ = DrillScorecard.objects.update_or_create(
        incident=incident,
        defaults={
            "runbook_version_id": incident.runbook_version_id,
            "environment": incident.environment,
            "computed_at": timezone.now(),
            "score": data["score"],
            "passed": data["passed"],
            "data": data,
        },
    )
    return row
