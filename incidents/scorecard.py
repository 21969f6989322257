"""Score a drill from its record (reads only; ``services.scorecards`` stores it at resolve).

Per phase: the budget (planned minutes), how long it ran, and how far past its window it
ended (overrun minutes). Per role: the time from opening to the first action of someone
on a step of that role. Approval waits, skipped and overridden steps, failed scripts and
checks, and the success criteria met.

The score is the mean of three shares, as a percentage: phases that ended within their
window, criteria met, and steps neither skipped nor overridden. A drill *passes* when
every criterion is met and no phase overran.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from incidents.criteria import criteria_status
from incidents.models import (
    CheckResult,
    Incident,
    Phase,
    SafeguardCheck,
    Step,
    StepRun,
    TimelineEntry,
)

FAILED_RUNS = (StepRun.Status.FAILED, StepRun.Status.TIMED_OUT, StepRun.Status.INTERRUPTED)


def _minutes(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 60, 1)


def _phase(phase: Phase) -> dict[str, Any]:
    planned = phase.ends_at_minutes - phase.starts_at_minutes
    actual = _minutes(phase.started_at, phase.ended_at)
    overrun = 0.0
    if phase.ended_at is not None:
        overrun = max(0.0, round((phase.ended_at - phase.planned_end_at).total_seconds() / 60, 1))
    return {
        "key": phase.key,
        "title": phase.title,
        "planned_minutes": planned,
        "actual_minutes": actual,
        "overrun_minutes": overrun,
        "ended": phase.ended_at is not None,
    }


def _first_actions(incident: Incident, steps: list[Step], runs: list[StepRun]) -> dict[str, Any]:
    """Seconds from opening to the first tick, skip or run request on each role's steps."""
    owner = {step.pk: step.owner_role for step in steps}
    first: dict[str, datetime] = {}
    moments = [(s.owner_role, s.state_changed_at) for s in steps if s.state_changed_at]
    moments += [(owner[r.step_id], r.requested_at) for r in runs]
    for role, at in moments:
        if at is not None and (role not in first or at < first[role]):
            first[role] = at
    return {
        role: round((at - incident.opened_at).total_seconds()) for role, at in sorted(first.items())
    }


def compute(incident: Incident) -> dict[str, Any]:
    """The scorecard of a resolved drill, as JSON-ready data with ``score`` and ``passed``."""
    phases = [_phase(p) for p in incident.phases.order_by("position")]
    steps = list(Step.objects.filter(incident=incident))
    runs = list(StepRun.objects.filter(incident=incident).select_related("step"))
    skipped = [s.key for s in steps if s.state == Step.State.SKIPPED]
    overridden = sorted(
        {
            e.step.key
            for e in TimelineEntry.objects.filter(
                incident=incident, kind=TimelineEntry.Kind.SAFEGUARDS_OVERRIDDEN
            ).select_related("step")
            if e.step is not None
        }
        | {
            e.step.key
            for e in TimelineEntry.objects.filter(
                incident=incident, kind=TimelineEntry.Kind.STEP_SKIPPED
            ).select_related("step")
            if e.step is not None and e.data.get("overridden_checks")
        }
    )
    waits = [
        {"step": r.step.key, "seconds": round((r.approved_at - r.requested_at).total_seconds())}
        for r in runs
        if r.approved_at is not None
    ]
    failed_runs = [
        {"step": r.step.key, "attempt": r.attempt, "status": r.status}
        for r in runs
        if r.status in FAILED_RUNS
    ]
    latest: dict[str, str] = {}
    for result in CheckResult.objects.filter(incident=incident).order_by("-pk"):
        latest.setdefault(result.validation_id, result.result)
    failed_checks = sorted(v for v, result in latest.items() if result != "pass")
    failed_checks += sorted(
        {
            f"safeguard {c.safeguard_id}"
            for c in SafeguardCheck.objects.filter(incident=incident).exclude(result="pass")
        }
    )
    criteria = criteria_status(incident)
    met = sum(1 for c in criteria if c.is_met)
    on_time = sum(1 for p in phases if p["ended"] and p["overrun_minutes"] == 0)
    clean_steps = sum(1 for s in steps if s.key not in skipped and s.key not in overridden)
    shares = [
        on_time / len(phases) if phases else 1.0,
        met / len(criteria) if criteria else 1.0,
        clean_steps / len(steps) if steps else 1.0,
    ]
    return {
        "score": round(100 * sum(shares) / len(shares)),
        "passed": met == len(criteria) and not any(p["overrun_minutes"] for p in phases),
        "phases": phases,
        "first_action_seconds": _first_actions(incident, steps, runs),
        "approval_waits": waits,
        "skipped": skipped,
        "overridden": overridden,
        "failed_runs": failed_runs,
        "failed_checks": failed_checks,
        "criteria": {"met": met, "total": len(criteria)},
    }
