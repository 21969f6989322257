"""Success criteria: whether each is met, and what is missing. Reads only."""

from __future__ import annotations

from dataclasses import dataclass

from incidents.checks.selectors import latest_results
from incidents.models import Criterion, Incident


@dataclass(frozen=True)
class CriterionStatus:
    criterion: Criterion
    missing: list[str]

    @property
    def is_met(self) -> bool:
        return not self.missing


def criteria_status(incident: Incident) -> list[CriterionStatus]:
    """Every criterion with what keeps it from being met (two queries)."""
    results = latest_results(incident.pk)
    # Checks by their titles: the product manager reads this panel too.
    titles = {v.id: v.title for v in incident.runbook_version.parsed().validations}
    statuses = []
    for criterion in Criterion.objects.filter(incident=incident).select_related("signed_off_by"):
        missing = [
            f"check “{titles.get(vid, vid)}” "
            f"{'has not run' if vid not in results else 'did not pass'}"
            for vid in criterion.validations
            if results.get(vid) != "pass"
        ]
        if criterion.signoff_role and criterion.signed_off_by_id is None:
            missing.append(f"sign-off by {criterion.signoff_role.replace('_', ' ')}")
        statuses.append(CriterionStatus(criterion, missing))
    return statuses
