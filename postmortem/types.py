"""The postmortem as a tree of plain, frozen dataclasses: no models, no queries, no templates.

Times are aware datetimes; durations are seconds; people are usernames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from postmortem.validation_rows import ReportRow

Audience = Literal["act", "view"]
StepOutcome = Literal["done", "skipped", "pending"]


@dataclass(frozen=True)
class Summary:
    incident_id: int
    title: str
    runbook_slug: str
    runbook_title: str
    runbook_version: int
    plan_summary: str
    environment: str
    severity: str
    is_drill: bool
    status: str
    is_resolved: bool
    opened_at: datetime
    opened_by: str
    resolved_at: datetime | None
    resolved_by: str | None
    duration_seconds: float  # opened → resolved (or → generated, while still active)
    override_reason: str  # why the IC resolved with criteria unmet; "" if they were met


@dataclass(frozen=True)
class TriggerItem:
    id: str
    description: str
    rule: str  # the machine rule in one line; "" when people judge it
    is_declared: bool


@dataclass(frozen=True)
class Trigger:
    items: list[TriggerItem]  # the runbook's triggers
    opened_at: datetime | None  # the "opened" timeline entry
    opened_by: str | None
    opened_text: str

    @property
    def declared(self) -> list[TriggerItem]:
        return [t for t in self.items if t.is_declared]


@dataclass(frozen=True)
class Handover:
    at: datetime
    from_people: list[str]
    to: str
    by: str | None


@dataclass(frozen=True)
class RoleRow:
    key: str
    title: str
    responsibility: str
    holders: list[str]
    former: list[str]  # held it earlier in the incident, no longer
    handovers: list[Handover]  # incident commander only


@dataclass(frozen=True)
class PhaseRow:
    number: int
    key: str
    title: str
    planned_start: datetime
    planned_end: datetime
    started_at: datetime | None
    ended_at: datetime | None
    duration_seconds: float | None
    result: str  # a clocks.ClockState value (done, done_late, ...)
    overrun_minutes: int


@dataclass(frozen=True)
class RunInfo:
    attempts: int
    status: str
    exit_code: int | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    requested_by: str
    approved_by: str | None
    summary: str


@dataclass(frozen=True)
class StepRow:
    key: str
    title: str
    owner_role: str  # the role's title
    kind: str
    is_optional: bool
    outcome: StepOutcome
    skip_reason: str
    by: str | None
    at: datetime | None  # ticked, skipped, or finished by its run
    since_phase_start_seconds: float | None
    run: RunInfo | None  # the last attempt of a scripted step
    command: str | None  # what runs; None for manual steps and for viewers


@dataclass(frozen=True)
class PhaseSteps:
    number: int
    title: str
    steps: list[StepRow]


@dataclass(frozen=True)
class CriterionRow:
    title: str
    is_met: bool
    missing: list[str]
    signoff_role: str | None  # the role's title
    signed_off_by: str | None
    signed_off_at: datetime | None
    # The last measurement of each metric check, in words (criteria9).
    evidence: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TimelineRow:
    at: datetime
    actor: str | None
    kind: str
    text: str


@dataclass(frozen=True)
class FollowUpRow:
    title: str
    description: str
    owner_role: str  # the role's title
    owners: list[str]  # who holds that role now
    assignee: str | None = None  # the person it was given to
    due_on: date | None = None
    status: str = "Open"


@dataclass(frozen=True)
class DeliveryRow:
    destination: str  # its title in the runbook, never an address
    state: str
    attempts: int
    reason: str


@dataclass(frozen=True)
class CommunicationRow:
    at: datetime
    by: str | None  # None: sent by Ripcord (an automatic item)
    item: str
    phase: str
    audience: str
    body: str
    deliveries: list[DeliveryRow]


@dataclass(frozen=True)
class CadenceRow:
    audience: str
    every_minutes: int
    sends: int
    longest_gap_seconds: float  # opening → first send → … → resolution (or now)
    late_gaps: int  # gaps longer than the cadence


@dataclass(frozen=True)
class Communications:
    sends: list[CommunicationRow] = field(default_factory=list)
    cadence: list[CadenceRow] = field(default_factory=list)


@dataclass(frozen=True)
class AlertRow:
    """An alert a receiver accepted for this incident (triggers.models.Alert)."""

    alertname: str
    status: str
    trigger: str
    value: str
    labels: str
    starts_at: datetime
    ended_at: datetime | None
    source_url: str


@dataclass(frozen=True)
class Postmortem:
    generated_at: datetime
    audience: Audience
    chart_path: str  # where the phase chart is served as SVG
    summary: Summary
    trigger: Trigger
    roles: list[RoleRow]
    phases: list[PhaseRow]
    steps: list[PhaseSteps]
    validations: list[ReportRow]
    criteria: list[CriterionRow]
    timeline: list[TimelineRow]
    follow_ups: list[FollowUpRow]
    communications: Communications = field(default_factory=Communications)
    alerts: list[AlertRow] = field(default_factory=list)  # "Alerts on the record"
