"""The "now" header: what is happening, what is next and who owns it, what blocks, when it ends.

Built from the incident's rows alone, the same for everyone (a viewer reads what an
engineer reads), in plain words: checks and safeguards by their titles, roles by
their titles and holders, never an identifier. Pushed like the other panels
(``incidents/_now.html``) with every change that can move it.

The ETA follows the budgets, stretched by how late the ended phases ran:

* slip ``s`` = (time the ended phases took) ÷ (their budgets), and at least 1;
  1 while no phase has ended;
* ETA = now + max(s·b_current - elapsed_current, 0) + Σ s·b_later,

where a phase's budget ``b`` is its window on the incident clock (ends_at_minutes -
starts_at_minutes). A phase that overran already ends "now" at the earliest, so the
ETA slides with the clock until it ends; the browser keeps it sliding
(static/js/now.js) from ``eta_fixed`` (the ETA if the current phase ends on its
stretched budget) and ``eta_rest`` (Σ s·b_later).

A fixed number of queries whatever the incident's size (tests/incidents/test_now.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import TextField
from django.db.models.functions import Cast

from common.compiled import Compiled
from incidents import selectors
from incidents.checks.selectors import blocking_checks
from incidents.clocks import ClockState, clock_state
from incidents.models import (
    Criterion,
    Incident,
    IncidentRole,
    Phase,
    SafeguardCheck,
    Step,
    StepRun,
)
from runbooks.specs import INCIDENT_COMMANDER

ON_PLAN = timedelta(minutes=1)  # closer to the plan than this reads as "on plan"


@dataclass(frozen=True)
class Owner:
    role: str  # the role's title
    people: list[str]  # who holds it; empty: nobody yet

    @property
    def words(self) -> str:
        held = ", ".join(self.people) if self.people else "nobody assigned yet"
        return f"{self.role} ({held})"


@dataclass(frozen=True)
class NextStep:
    title: str
    owner: Owner
    waiting_on: list[str] = field(default_factory=list)  # titles of steps it needs first


@dataclass(frozen=True)
class Running:
    title: str
    status: str  # "running" or "queued"
    since: datetime
    owner: Owner


@dataclass(frozen=True)
class Blocker:
    kind: str  # "approval", "check", "safeguard", "signoff", "unassigned"
    text: str


@dataclass(frozen=True)
class NowView:
    resolved: bool
    resolved_at: datetime | None
    phase: Phase | None  # the running phase
    phase_number: int
    phase_count: int
    phase_state: str  # a ClockState value
    budget: timedelta | None  # the running phase's window
    elapsed: timedelta | None  # how long it has run
    running: list[Running]
    next_step: NextStep | None
    blockers: list[Blocker]
    slip: float
    eta: datetime | None
    eta_fixed: datetime | None
    eta_rest: timedelta | None
    planned_end: datetime | None  # the last phase's planned end
    all_phases_ended: bool

    @property
    def behind(self) -> timedelta | None:
        """How far the ETA is past the plan's end (negative: ahead)."""
        if self.eta is None or self.planned_end is None:
            return None
        return self.eta - self.planned_end

    @property
    def lateness(self) -> str:
        """The whole incident against its plan, in words."""
        behind = self.behind
        if behind is None:
            return ""
        if abs(behind) < ON_PLAN:
            return "On plan"
        if behind > timedelta(0):
            return f"{duration_words(behind)} behind plan"
        return f"{duration_words(-behind)} ahead of plan"

    @property
    def phase_words(self) -> str:
        """The running phase against its budget, in words."""
        if self.phase is None or self.budget is None or self.elapsed is None:
            return ""
        budget = duration_words(self.budget)
        left = self.budget - self.elapsed
        if left >= timedelta(0):
            return f"{duration_words(self.elapsed)} in, {duration_words(left)} left of its {budget} budget"
        return f"over its {budget} budget by {duration_words(-left)}"


def duration_words(span: timedelta) -> str:
    """ "less than a minute", "12 min", "1 h 5 min"."""
    minutes = int(abs(span).total_seconds() // 60)
    if minutes < 1:
        return "less than a minute"
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def budget_of(phase: Phase) -> timedelta:
    return timedelta(minutes=max(0, phase.ends_at_minutes - phase.starts_at_minutes))


def slip_factor(phases: list[Phase]) -> float:
    """How late the ended phases ran against their budgets, at least 1 (README, "now" header)."""
    ended = [p for p in phases if p.started_at is not None and p.ended_at is not None]
    budgets = sum((budget_of(p) for p in ended), timedelta(0))
    if not ended or budgets <= timedelta(0):
        return 1.0
    took = sum((p.ended_at - p.started_at for p in ended), timedelta(0))  # type: ignore[operator]
    return max(1.0, took / budgets)


def estimate(phases: list[Phase], now: datetime) -> tuple[float, datetime | None, timedelta]:
    """(slip, the ETA if the running phase ends on its stretched budget, Σ s·b of later ones)."""
    slip = slip_factor(phases)
    current = next((p for p in phases if p.started_at and not p.ended_at), None)
    if current is None:
        return slip, None, timedelta(0)
    later = [p for p in phases if p.position > current.position and p.started_at is None]
    rest = sum((budget_of(p) * slip for p in later), timedelta(0))
    assert current.started_at is not None
    return slip, current.started_at + budget_of(current) * slip + rest, rest


_PHASES = Compiled[Phase](
    lambda incident_id: Phase.objects.filter(incident_id=incident_id).order_by("position")
)
_ACTIVE_RUNS = Compiled[StepRun](
    lambda incident_id: (
        StepRun.objects.filter(incident_id=incident_id, status__in=StepRun.ACTIVE)
        .select_related("step", "requested_by")
        .order_by("requested_at", "pk")
    )
)
_PENDING = Compiled[tuple[int, str, str, str, str | None, int]](
    lambda incident_id: (
        Step.objects.filter(incident_id=incident_id, state=Step.State.PENDING)
        .order_by("phase__position", "position")
        .values_list("pk", "key", "title", "owner_role", Cast("requires", TextField()), "phase_id")
    )
)
_SAFEGUARD_CHECKS = Compiled[SafeguardCheck](
    lambda incident_id: SafeguardCheck.objects.filter(incident_id=incident_id).order_by(
        "-checked_at", "-pk"
    )
)


def build(incident: Incident, now: datetime, roles: list[IncidentRole] | None = None) -> NowView:
    """The header's view; ``roles``: the incident's roles with holders, if already read."""
    phases = _PHASES(incident.pk)
    current = next((p for p in phases if p.started_at and not p.ended_at), None)
    all_ended = bool(phases) and all(p.ended_at for p in phases)
    owners = _owners(incident, roles)
    slip, eta_fixed, eta_rest = estimate(phases, now)
    eta = max(eta_fixed, now + eta_rest) if eta_fixed is not None else None
    if incident.resolved_at is not None:
        eta = eta_fixed = None
    running, next_step, waiting = _steps(incident, current, owners)
    blockers = waiting + _failed_checks(current) + _failed_safeguards(incident)
    if all_ended and incident.is_active:
        blockers += _missing_signoffs(incident, owners)
    if next_step is not None and not next_step.owner.people:
        text = f"Nobody holds {next_step.owner.role}, who owns the next step."
        blockers.insert(0, Blocker("unassigned", text))
    state = ClockState.NOT_STARTED.value
    if current is not None:
        state = clock_state(
            planned_start=current.planned_start_at,
            planned_end=current.planned_end_at,
            started_at=current.started_at,
            ended_at=None,
            now=now,
        ).value
    return NowView(
        resolved=not incident.is_active,
        resolved_at=incident.resolved_at,
        phase=current,
        phase_number=phases.index(current) + 1 if current else 0,
        phase_count=len(phases),
        phase_state=state,
        budget=budget_of(current) if current else None,
        elapsed=now - current.started_at if current and current.started_at else None,
        running=running,
        next_step=next_step,
        blockers=blockers,
        slip=round(slip, 2),
        eta=eta,
        eta_fixed=eta_fixed,
        eta_rest=eta_rest if eta_fixed is not None else None,
        planned_end=phases[-1].planned_end_at if phases else None,
        all_phases_ended=all_ended,
    )


def _owners(incident: Incident, roles: list[IncidentRole] | None = None) -> dict[str, Owner]:
    """Role key → its title and holders (two queries, unless ``roles`` were read already)."""
    if roles is None:
        roles = selectors.roles_with_holders(incident)
    return {
        role.key: Owner(role.title, [a.user.get_username() for a in role.assignments.all()])
        for role in roles
    }


def _owner(owners: dict[str, Owner], key: str) -> Owner:
    return owners.get(key) or Owner(key.replace("_", " ").capitalize(), [])


def _steps(
    incident: Incident, current: Phase | None, owners: dict[str, Owner]
) -> tuple[list[Running], NextStep | None, list[Blocker]]:
    """What runs now, the next step to take, and the runs waiting for an approval (two queries)."""
    active = _ACTIVE_RUNS(incident.pk)
    running: list[Running] = []
    waiting: list[Blocker] = []
    busy: set[int] = set()
    for run in active:
        busy.add(run.step_id)
        owner = _owner(owners, run.step.owner_role)
        if run.status == StepRun.Status.AWAITING_APPROVAL:
            approver = _owner(owners, run.step.approval_role or INCIDENT_COMMANDER)
            waiting.append(
                Blocker(
                    "approval",
                    f"“{run.step.title}” waits for approval by {approver.words}; "
                    f"asked by {run.requested_by.get_username()}.",
                )
            )
        else:
            since = run.started_at or run.approved_at or run.requested_at
            running.append(Running(run.step.title, run.status, since, owner))
    if current is None or not incident.is_active:
        return running, None, waiting
    # ``requires`` as JSON text, decoded only for the candidates looked at (a 300-step
    # incident's push decoded 300 lists here for one step).
    pending = _PENDING(incident.pk)
    open_keys = {key for _, key, *_ in pending}
    titles = {key: title for _, key, title, *_ in pending}
    candidates = [row for row in pending if row[5] == current.pk and row[0] not in busy]
    if not candidates:
        return running, None, waiting
    first = None
    for row in candidates:
        if not open_keys.intersection(_requires(row[4])):
            first = row
            break
    _, _, title, owner_role, raw, _ = first or candidates[0]
    requires = _requires(raw)
    needs = [] if first else [titles[key] for key in requires if key in open_keys]
    return running, NextStep(title, _owner(owners, owner_role), needs), waiting


def _requires(raw: str | None) -> list[str]:
    """A step's ``requires`` from its JSON text (``[]`` and null cost no decoding)."""
    if not raw or raw in ("[]", "null"):
        return []
    return list(json.loads(raw) or [])


def _failed_checks(current: Phase | None) -> list[Blocker]:
    """The running phase's validations that failed or could not be checked (by title)."""
    if current is None:
        return []
    words = {"fail": "failed", "error": "could not be checked"}
    return [
        Blocker("check", f"Check “{check.title}” {words[check.result]}.")
        for check in blocking_checks(current)
        if check.result in words
    ]


def _failed_safeguards(incident: Incident) -> list[Blocker]:
    """Pre-flight safeguards whose latest check did not pass (by title; one query)."""
    latest: dict[str, SafeguardCheck] = {}
    for check in _SAFEGUARD_CHECKS(incident.pk):
        latest.setdefault(check.safeguard_id, check)
    words = {"fail": "is not met", "error": "could not be checked"}
    return [
        Blocker("safeguard", f"Safeguard “{check.title}” {words[check.result]}.")
        for check in latest.values()
        if check.result in words
    ]


def _missing_signoffs(incident: Incident, owners: dict[str, Owner]) -> list[Blocker]:
    criteria = Criterion.objects.filter(incident=incident, signed_off_by__isnull=True).exclude(
        signoff_role=""
    )
    return [
        Blocker(
            "signoff",
            f"“{c.title}” waits for sign-off by {_owner(owners, c.signoff_role).words}.",
        )
        for c in criteria
    ]
