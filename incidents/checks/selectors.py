"""Reads of validation results. Each selector is a fixed number of queries.

"The latest result" of a validation is its newest ``CheckResult`` row (results
are only inserted, in the order runs finish).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Max, QuerySet

from common.compiled import Compiled
from incidents.models import CheckResult, Incident, Phase, Snapshot, Step
from runbooks.models import RunbookVersion
from runbooks.specs import RunbookSpec, StepKind

NOT_RUN = "not_run"


def _newest(incident_id: int) -> QuerySet[CheckResult]:
    newest = (
        CheckResult.objects.filter(incident_id=incident_id)
        .values("validation_id")
        .annotate(newest=Max("pk"))
        .values("newest")
    )
    return CheckResult.objects.filter(pk__in=newest)


def _incident_id(incident: Incident | int) -> int:
    return incident if isinstance(incident, int) else incident.pk


def latest_results(incident: Incident | int) -> dict[str, str]:
    """Validation id → its latest result ("pass", "fail", "error"); absent: never run. One query."""
    rows = _newest(_incident_id(incident)).values_list("validation_id", "result")
    return dict(rows)


def latest_check_results(incident: Incident | int) -> dict[str, CheckResult]:
    """Validation id → its latest ``CheckResult`` (with evidence). One query."""
    return {row.validation_id: row for row in _newest(_incident_id(incident))}


@dataclass(frozen=True)
class BlockingCheck:
    validation_id: str
    title: str
    result: str  # "fail", "error" or "not_run"
    summary: str
    step_keys: list[str]  # the phase's validation steps that run it

    def __str__(self) -> str:
        state = {"fail": "failed", "error": "could not be checked", NOT_RUN: "not run"}
        return f"{self.title} ({state.get(self.result, self.result)})"


_VALIDATION_KEYS = Compiled[str](
    lambda phase_id: (
        Step.objects.filter(phase_id=phase_id, kind=StepKind.VALIDATION)
        .exclude(state=Step.State.SKIPPED)
        .order_by("position")
        .values_list("key", flat=True)
    )
)


def blocking_checks(phase: Phase) -> list[BlockingCheck]:
    """Validations run by the phase's validation steps whose latest result is not a pass.

    A skipped validation step does not block. Either its checks had not failed
    when it was skipped (a person decided, on the record, not to prove it here),
    or they had and the IC skipped it as an override of them: ``skip_step``
    refuses anyone else (``failed_checks_of``). Three queries (one when the
    phase has no validation step). The IC's override with a reason at the
    phase's exit is the phase's business.
    """
    keys = _VALIDATION_KEYS(phase.pk)
    if not keys:
        return []
    spec = RunbookVersion.objects.get(incidents=phase.incident_id).parsed()
    latest = latest_check_results(phase.incident_id)
    steps = {step.id: step for step in spec.all_steps()}
    runs_it: dict[str, list[str]] = {}
    for key in keys:
        for validation_id in steps[key].validations if key in steps else []:
            runs_it.setdefault(validation_id, []).append(key)
    return [
        _blocking(spec, validation_id, latest.get(validation_id), step_keys)
        for validation_id, step_keys in runs_it.items()
        if not _passed(latest.get(validation_id))
    ]


def failed_checks_of(step: Step) -> list[BlockingCheck]:
    """The step's validations whose latest result is a failure or an error.

    Never-run ones are not listed: there is nothing to override yet. Empty for
    steps of other kinds. Two queries for a validation step.
    """
    if step.kind != StepKind.VALIDATION:
        return []
    spec = RunbookVersion.objects.get(incidents=step.incident_id).parsed()
    found = next((s for s in spec.all_steps() if s.id == step.key), None)
    if found is None:
        return []
    latest = latest_check_results(step.incident_id)
    return [
        _blocking(spec, validation_id, latest[validation_id], [step.key])
        for validation_id in found.validations
        if validation_id in latest and not _passed(latest[validation_id])
    ]


def _passed(row: CheckResult | None) -> bool:
    return row is not None and row.result == CheckResult.Result.PASS


def _blocking(
    spec: RunbookSpec, validation_id: str, row: CheckResult | None, step_keys: list[str]
) -> BlockingCheck:
    title = next((v.title for v in spec.validations if v.id == validation_id), validation_id)
    return BlockingCheck(
        validation_id=validation_id,
        title=title,
        result=row.result if row is not None else NOT_RUN,
        summary=row.summary if row is not None else "",
        step_keys=step_keys,
    )


def failed_checks_blocking(phase: Phase) -> list[str]:
    """What keeps the phase from exiting on validation's side, one line per validation.

    e.g. "Confirm password hashes are valid (failed)"; see ``blocking_checks`` for details.
    """
    return [str(check) for check in blocking_checks(phase)]


@dataclass(frozen=True)
class ResultRow:
    validation_id: str
    title: str
    family: str
    kind: str  # the check kind the runbook declares ("" for a by-hand validation)
    result: str  # "pass", "fail", "error" or "not_run"
    summary: str = ""
    checked_at: datetime | None = None
    ran: str = ""
    expected: str = ""  # pretty JSON (or the text itself)
    seen: str = ""
    differences: list[str] = field(default_factory=list)
    details: list[tuple[str, str]] = field(default_factory=list)  # the family's extras

    @property
    def result_label(self) -> str:
        return "not run" if self.result == NOT_RUN else self.result


@dataclass(frozen=True)
class ResultsPanel:
    incident: Incident
    # ("User data", its validations), families and validations in runbook order.
    families: list[tuple[str, list[ResultRow]]]
    snapshot: Snapshot | None

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("pass", "fail", "error", NOT_RUN), 0)
        for _, rows in self.families:
            for row in rows:
                counts[row.result] += 1
        return counts


def results_panel(incident: Incident) -> ResultsPanel:
    """Every validation of the incident's runbook with its latest result; at most three queries."""
    spec = incident.runbook_version.parsed()
    latest = latest_check_results(incident.pk)
    snapshot = Snapshot.objects.filter(incident_id=incident.pk).first()
    families: dict[str, list[ResultRow]] = {}
    for validation in spec.validations:
        kind = validation.check.kind if validation.check else ""
        families.setdefault(validation.family, []).append(
            _row(
                validation.id, validation.title, validation.family, kind, latest.get(validation.id)
            )
        )
    labelled = [(family.replace("_", " ").capitalize(), rows) for family, rows in families.items()]
    return ResultsPanel(incident=incident, families=labelled, snapshot=snapshot)


def _row(key: str, title: str, family: str, kind: str, found: CheckResult | None) -> ResultRow:
    if found is None:
        return ResultRow(key, title, family, kind, NOT_RUN)
    proof = found.evidence
    extras = {k: v for k, v in proof.items() if k not in ("ran", "expected", "seen", "differences")}
    return ResultRow(
        key,
        title,
        family,
        found.kind or kind,
        found.result,
        summary=found.summary,
        checked_at=found.checked_at,
        ran=str(proof.get("ran") or ""),
        expected=_shown(proof.get("expected")),
        seen=_shown(proof.get("seen")),
        differences=[str(d) for d in proof.get("differences") or []],
        details=[(name.replace("_", " "), _shown(value)) for name, value in extras.items()],
    )


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
