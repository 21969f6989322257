"""Phases: starting, ending and advancing them, and announcing their clocks.

A phase exits when its exit rule holds — every required step done or skipped
with a reason, and no failed validation check it requires — or when the IC
advances it anyway, with a reason that goes on the record.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from common.compiled import Compiled
from incidents import notices
from incidents.broadcast import publish
from incidents.checks.selectors import failed_checks_blocking
from incidents.clocks import ClockState, clock_state, describe
from incidents.events import Change
from incidents.models import Incident, Phase, Step, TimelineEntry
from incidents.services.errors import ServiceError
from incidents.services.locking import lock_incident
from incidents.services.timeline import record

REASON_MAX_LENGTH = 2000


_RUNNING_PHASE = Compiled[Phase](
    lambda incident_id: Phase.objects.filter(
        incident_id=incident_id, started_at__isnull=False, ended_at__isnull=True
    ).order_by("position")[:1]
)
_UNSETTLED = Compiled[int](
    lambda phase_id: Step.objects.filter(
        phase_id=phase_id, is_optional=False, state=Step.State.PENDING
    ).values_list("pk", flat=True)[:1]
)


def current_phase(incident: Incident) -> Phase | None:
    """The running phase: started and not ended (phases run one after another)."""
    return _RUNNING_PHASE.first(incident.pk)


def exit_blockers(phase: Phase) -> list[str]:
    """Why the phase cannot exit yet (empty when its exit rule holds)."""
    unsettled = Step.objects.filter(phase=phase, is_optional=False, state=Step.State.PENDING)
    blockers = [f"step not done: {title}" for title in unsettled.values_list("title", flat=True)]

    blockers += [f"validation failed: {title}" for title in failed_checks_blocking(phase)]
    return blockers


def may_exit(phase: Phase) -> bool:
    """``not exit_blockers(phase)``, without reading every open step's title (each tick asks)."""
    return not _UNSETTLED(phase.pk) and not failed_checks_blocking(phase)


def _state_now(phase: Phase, now: datetime) -> ClockState:
    return clock_state(
        planned_start=phase.planned_start_at,
        planned_end=phase.planned_end_at,
        started_at=phase.started_at,
        ended_at=phase.ended_at,
        now=now,
    )


def _set_clock(phase: Phase, now: datetime, change: Change) -> None:
    phase.clock_state = _state_now(phase, now)
    change.phases.add(phase.pk)


def _end_and_start_next(
    incident: Incident, phase: Phase, *, by: User | None, now: datetime, change: Change, note: str
) -> Phase | None:
    phase.ended_at = now
    _set_clock(phase, now, change)
    phase.save(update_fields=["ended_at", "clock_state"])
    record(
        incident,
        TimelineEntry.Kind.PHASE_ENDED,
        f"Phase ended: {phase.title}{note}",
        actor=by,
        change=change,
        data={"phase": phase.key, "state": phase.clock_state},
    )
    following = (
        Phase.objects.filter(incident=incident, position__gt=phase.position)
        .order_by("position")
        .first()
    )
    if following is not None:
        following.started_at = now
        _set_clock(following, now, change)
        following.save(update_fields=["started_at", "clock_state"])
        record(
            incident,
            TimelineEntry.Kind.PHASE_STARTED,
            f"Phase started: {following.title}",
            actor=by,
            change=change,
            data={"phase": following.key},
        )
    change.header = True
    return following


def advance_automatically(incident: Incident, change: Change, *, by_id: int | None = None) -> None:
    """After a step settles (caller holds the lock): move on while the running phase may
    exit, and tell the owners of steps that can start now (incidents.notices)."""
    notices.steps_unblocked(incident, change.steps, by_id)
    now = timezone.now()
    phase = current_phase(incident)
    while phase is not None and may_exit(phase):
        phase = _end_and_start_next(
            incident, phase, by=None, now=now, change=change, note=" (every required step settled)"
        )


def advance_phase(*, incident_id: int, by: User, reason: str = "") -> Phase | None:
    """The IC ends the running phase and starts the next; an unmet exit rule needs a reason."""
    reason = reason.strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise ServiceError(f"A reason is at most {REASON_MAX_LENGTH} characters.")
    with transaction.atomic():
        incident = lock_incident(incident_id)
        phase = current_phase(incident)
        if phase is None:
            raise ServiceError("No phase is running.", conflict=True)
        blockers = exit_blockers(phase)
        if blockers and not reason:
            raise ServiceError(
                "The phase cannot exit yet (" + "; ".join(blockers) + "). "
                "Give a reason to advance anyway."
            )
        change = Change(incident.pk)
        note = (
            f" — advanced by the IC over: {'; '.join(blockers)}. Reason: {reason}"
            if blockers
            else ""
        )
        following = _end_and_start_next(
            incident, phase, by=by, now=timezone.now(), change=change, note=note
        )
        publish(change)
    return following


def refresh_clocks(*, now: datetime | None = None) -> list[tuple[int, str]]:
    """Announce every phase whose clock changed state since last time (run by beat).

    Browsers tick the clocks themselves from the server's times; only state
    changes travel, each once, with a timeline entry.
    """
    now = now or timezone.now()
    changed: list[tuple[int, str]] = []
    for incident_id in Incident.objects.filter(status=Incident.Status.ACTIVE).values_list(
        "pk", flat=True
    ):
        phases = list(Phase.objects.filter(incident_id=incident_id))
        if all(_state_now(p, now) == p.clock_state for p in phases):
            continue
        with transaction.atomic():
            incident = lock_incident(incident_id, require_active=False)
            change = Change(incident.pk)
            for phase in Phase.objects.filter(incident=incident).order_by("position"):
                state = _state_now(phase, now)
                if state == phase.clock_state:
                    continue
                phase.clock_state = state
                phase.save(update_fields=["clock_state"])
                change.phases.add(phase.pk)
                changed.append((phase.pk, state))
                if state in (ClockState.AT_RISK, ClockState.OVERRUN):
                    notices.phase_clock(
                        incident, phase, describe(state, planned_end=phase.planned_end_at, now=now)
                    )
                    record(
                        incident,
                        TimelineEntry.Kind.PHASE_CLOCK,
                        f"{phase.title} {describe(state, planned_end=phase.planned_end_at, now=now)}",
                        actor=None,
                        change=change,
                        data={"phase": phase.key, "state": state},
                    )
            publish(change)
    return changed
