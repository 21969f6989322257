"""Validation evidence for the postmortem: one row per validation the runbook declares.

The postmortem (``postmortem.data``) asks only this function, so the evidence
section keeps its shape while the validation app grows underneath it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from incidents.checks.selectors import latest_check_results
from runbooks.models import RunbookVersion

NOT_RUN = "not run"


@dataclass(frozen=True)
class ReportRow:
    id: str
    title: str
    family: str
    result: str  # "pass", "fail", "error" once checks store results; NOT_RUN until then
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    checked_at: datetime | None = None


def report_rows(incident_id: int) -> list[ReportRow]:
    """Every validation the incident's runbook version declares, in the runbook's order,
    with its latest stored result (result, summary, evidence, when it was checked).

    Validations that never ran keep a "not run" row, so the section always lists
    everything the plan asked to prove. Two queries, whatever the runbook's size.
    """
    version = RunbookVersion.objects.filter(incidents__pk=incident_id).first()
    if version is None:
        return []
    found = latest_check_results(incident_id)
    rows = []
    for v in version.parsed().validations:
        result = found.get(v.id)
        if result is None:
            rows.append(
                ReportRow(id=v.id, title=v.title, family=v.family, result=NOT_RUN, summary="")
            )
            continue
        rows.append(
            ReportRow(
                id=v.id,
                title=v.title,
                family=v.family,
                result=result.result,
                summary=result.summary,
                evidence=dict(result.evidence),
                checked_at=result.checked_at,
            )
        )
    return rows
