"""Validation evidence for the postmortem: one row per validation the runbook declares.

The postmortem (``incidents.report``) asks only this function, so the evidence
section keeps its shape while the validation app grows underneath it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
    """Every validation the incident's runbook version declares, in the runbook's order.

    In this revision no check results are stored, so every row is ``"not run"``
    with no evidence: the section is complete (nothing the plan asked to prove
    is missing from it) before the checks exist. Once results are stored, the
    latest stored result of each validation replaces its "not run" row (result,
    summary, evidence and when it was checked); validations that never ran keep
    their "not run" row. One query, whatever the runbook's size.
    """
    version = RunbookVersion.objects.filter(incidents__pk=incident_id).first()
    if version is None:
        return []
    return [
        ReportRow(id=v.id, title=v.title, family=v.family, result=NOT_RUN, summary="")
        for v in version.parsed().validations
    ]
