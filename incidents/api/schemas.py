"""Request and response shapes of the incidents API, and their construction from models.

Inputs forbid unknown fields and take strict scalars: a typo or a "yes" for a
boolean is a 422 naming the field. Outputs are built field by field below.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema
from pydantic import StrictBool, StrictInt, StrictStr, model_validator

from common.api import InputSchema
from incidents.criteria import CriterionStatus, MetricStatus
from incidents.models import (
    Incident,
    IncidentRole,
    RoleAssignment,
    Step,
    StepRun,
    TimelineEntry,
)
from incidents.selectors import PhaseView, Progress


class ProgressOut(Schema):
    settled: int
    total: int
    percent: int


class IncidentSummaryOut(Schema):
    id: int
    title: str
    runbook: str
    runbook_version: int
    environment: str
    severity: str
    is_drill: bool
    status: str
    opened_by: str
    opened_at: datetime
    resolved_at: datetime | None
    revision: int
    progress: ProgressOut


class StepOut(Schema):
    id: int
    key: str
    title: str
    description: str
    owner_role: str
    kind: str
    state: str
    requires: list[str]
    approval_role: str | None
    is_optional: bool
    state_changed_by: str | None
    state_changed_at: datetime | None
    skip_reason: str
    command: dict[str, Any] | None = Field(description="null unless you may see step details")


class PhaseOut(Schema):
    id: int
    key: str
    title: str
    description: str
    starts_at_minutes: int
    ends_at_minutes: int
    planned_start_at: datetime
    planned_end_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    clock_state: str
    progress: ProgressOut
    steps: list[StepOut]


class AssignmentOut(Schema):
    id: int
    role: str
    user_id: int
    username: str
    assigned_at: datetime


class RoleOut(Schema):
    key: str
    title: str
    responsibility: str
    holders: list[AssignmentOut]


class IncidentOut(IncidentSummaryOut):
    phases: list[PhaseOut]
    roles: list[RoleOut]


class OpenIncidentIn(InputSchema):
    runbook: StrictStr = Field(description="Slug of the runbook; its latest version is used.")
    environment: StrictStr = Field(max_length=63)
    title: StrictStr = Field(min_length=1, max_length=200)
    severity: Incident.Severity = Incident.Severity.SEV2
    is_drill: StrictBool = Field(
        default=False, description="A drill is refused on an environment marked production."
    )
    confirm_environment: StrictStr = Field(
        default="",
        max_length=63,
        description="On a production environment, its name, typed: a real incident there "
        "is refused without it.",
    )
    parameters: dict[StrictStr, StrictStr] = Field(
        default_factory=dict,
        description="The runbook's parameters by name (checked against its pattern or "
        "choices); they reach the steps as environment variables.",
    )


class AssignRoleIn(InputSchema):
    role: StrictStr = Field(max_length=63)
    user_id: StrictInt | None = None
    username: StrictStr | None = None

    @model_validator(mode="after")
    def _one_person(self) -> AssignRoleIn:
        if (self.user_id is None) == (self.username is None):
            raise ValueError("give exactly one of 'user_id' or 'username'")
        return self


class SkipIn(InputSchema):
    reason: StrictStr


class NoteIn(InputSchema):
    text: StrictStr


class TimelineEntryOut(Schema):
    id: int
    at: datetime
    kind: str
    text: str
    actor: str | None
    step_id: int | None
    data: dict[str, Any]


class TimelinePageOut(Schema):
    entries: list[TimelineEntryOut]
    next_before_id: int | None = Field(description="before_id of the next page; null at the end")


def progress_out(progress: Progress) -> ProgressOut:
    return ProgressOut(settled=progress.settled, total=progress.total, percent=progress.percent)


def incident_summary_fields(incident: Incident, progress: Progress) -> dict[str, Any]:
    """Fields shared by list items and the full incident (needs runbook_version__runbook)."""
    return {
        "id": incident.pk,
        "title": incident.title,
        "runbook": incident.runbook_version.runbook.slug,
        "runbook_version": incident.runbook_version.number,
        "environment": incident.environment,
        "severity": incident.severity,
        "is_drill": incident.is_drill,
        "status": incident.status,
        "opened_by": incident.opened_by.get_username(),
        "opened_at": incident.opened_at,
        "resolved_at": incident.resolved_at,
        "revision": incident.revision,
        "progress": progress_out(progress),
    }


def step_out(step: Step, *, with_command: bool) -> StepOut:
    changed_by = step.state_changed_by
    return StepOut(
        id=step.pk,
        key=step.key,
        title=step.title,
        description=step.description,
        owner_role=step.owner_role,
        kind=step.kind,
        state=step.state,
        requires=list(step.requires),
        approval_role=step.approval_role or None,
        is_optional=step.is_optional,
        state_changed_by=changed_by.get_username() if changed_by else None,
        state_changed_at=step.state_changed_at,
        skip_reason=step.skip_reason,
        command=dict(step.command) if with_command else None,
    )


def phase_out(view: PhaseView, *, with_command: bool) -> PhaseOut:
    phase = view.phase
    return PhaseOut(
        id=phase.pk,
        key=phase.key,
        title=phase.title,
        description=phase.description,
        starts_at_minutes=phase.starts_at_minutes,
        ends_at_minutes=phase.ends_at_minutes,
        planned_start_at=phase.planned_start_at,
        planned_end_at=phase.planned_end_at,
        started_at=phase.started_at,
        ended_at=phase.ended_at,
        clock_state=phase.clock_state,
        progress=progress_out(view.progress),
        steps=[step_out(s, with_command=with_command) for s in view.steps],
    )


def assignment_out(assignment: RoleAssignment, role_key: str) -> AssignmentOut:
    return AssignmentOut(
        id=assignment.pk,
        role=role_key,
        user_id=assignment.user_id,
        username=assignment.user.get_username(),
        assigned_at=assignment.assigned_at,
    )


def role_out(role: IncidentRole) -> RoleOut:
    """A role with its holders (prefetched by ``selectors.roles_with_holders``)."""
    return RoleOut(
        key=role.key,
        title=role.title,
        responsibility=role.responsibility,
        holders=[assignment_out(a, role.key) for a in role.assignments.all()],
    )


def timeline_entry_out(entry: TimelineEntry) -> TimelineEntryOut:
    return TimelineEntryOut(
        id=entry.pk,
        at=entry.at,
        kind=entry.kind,
        text=entry.text,
        actor=entry.actor.get_username() if entry.actor else None,
        step_id=entry.step_id,
        data=dict(entry.data),
    )


# --- runs ------------------------------------------------------------------


class RunOut(Schema):
    id: int
    step_id: int
    attempt: int
    status: str
    queue: str
    requested_by: str
    requested_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    exit_code: int | None
    summary: str
    log_lines: int
    log_tail: str | None  # None for people who may not see logs


def run_out(run: StepRun, *, with_log: bool) -> RunOut:
    return RunOut(
        id=run.pk,
        step_id=run.step_id,
        attempt=run.attempt,
        status=run.status,
        queue=run.queue,
        requested_by=run.requested_by.get_username(),
        requested_at=run.requested_at,
        approved_by=run.approved_by.get_username() if run.approved_by else None,
        approved_at=run.approved_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        exit_code=run.exit_code,
        summary=run.summary,
        log_lines=run.log_lines,
        log_tail=run.log_tail if with_log else None,
    )


# --- closing ---------------------------------------------------------------


class ReasonIn(InputSchema):
    reason: str = Field(default="", max_length=2000)


class SelfApproveIn(InputSchema):
    """Why the IC approves their own run gated on the IC (recorded as an override)."""

    reason: str = Field(min_length=1, max_length=2000)


class MetricOut(Schema):
    """A metric check's latest measurement (criteria9); outcome None: not measured yet."""

    key: str
    title: str
    met: bool
    evidence: str
    outcome: str | None
    value: float | None
    comparison: str | None
    threshold: float | None
    samples: float | None
    window: str | None
    measured_at: datetime | None
    hold_minutes: int
    held_since: datetime | None


class CriterionOut(Schema):
    id: int
    key: str
    title: str
    validations: list[str]
    signoff_role: str | None
    signed_off_by: str | None
    signed_off_at: datetime | None
    met: bool
    missing: list[str]
    metrics: list[MetricOut] = []


class ClosingOut(Schema):
    status: str
    resolved_at: datetime | None
    resolve_override_reason: str
    criteria: list[CriterionOut]


def criterion_out(status: CriterionStatus) -> CriterionOut:
    c = status.criterion
    return CriterionOut(
        id=c.pk,
        key=c.key,
        title=c.title,
        validations=list(c.validations),
        signoff_role=c.signoff_role or None,
        signed_off_by=c.signed_off_by.get_username() if c.signed_off_by else None,
        signed_off_at=c.signed_off_at,
        met=status.is_met,
        missing=status.missing,
        metrics=[_metric_out(m) for m in status.metrics],
    )


def _metric_out(m: MetricStatus) -> MetricOut:
    last = m.last
    return MetricOut(
        key=m.key,
        title=m.title,
        met=m.is_met,
        evidence=m.evidence,
        outcome=last.outcome if last else None,
        value=last.value if last else None,
        comparison=last.comparison if last else None,
        threshold=last.threshold if last else None,
        samples=last.samples if last else None,
        window=last.window if last else None,
        measured_at=last.measured_at if last else None,
        hold_minutes=m.hold_minutes,
        held_since=last.held_since if last else None,
    )


class AdvanceOut(Schema):
    started_phase: str | None
