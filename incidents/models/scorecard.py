"""A drill's scorecard: how the rehearsal went against the plan's own budgets, kept per
runbook version (the runbook page shows the history and the last drill)."""

from __future__ import annotations

from django.db import models

from incidents.models.incident import Incident
from runbooks.models import RunbookVersion


class DrillScorecard(models.Model):
    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="scorecard")
    runbook_version = models.ForeignKey(
        RunbookVersion, on_delete=models.PROTECT, related_name="scorecards"
    )
    environment = models.CharField(max_length=63)
    computed_at = models.DateTimeField()
    score = models.PositiveSmallIntegerField()  # 0-100
    passed = models.BooleanField()
    # incidents.scorecard.Scorecard as JSON: phases, first actions, approval waits, ...
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["-computed_at"]
        indexes = [
            models.Index(fields=["runbook_version", "-computed_at"], name="scorecard_version")
        ]

    def __str__(self) -> str:
        return f"drill {self.incident_id}: {self.score}"
