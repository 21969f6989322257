"""Signing off success criteria and resolving the incident.

"Resolve" is refused while a criterion is unmet, unless the IC overrides with a
reason; the reason is stored and appears in the postmortem.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from incidents import notices
from incidents.access import SIGN_OFF_REFUSED, access_for
from incidents.broadcast import publish
from incidents.clocks import ClockState
from incidents.criteria import criteria_status
from incidents.events import Change
from incidents.models import Criterion, Incident, TimelineEntry
from incidents.services.errors import ServiceError
from incidents.services.locking import lock_incident
from incidents.services.phases import current_phase
from incidents.services.timeline import record

REASON_MAX_LENGTH = 2000


def sign_off(*, criterion_id: int, by: User) -> Criterion:
    """Record a person's sign-off of a criterion; only a holder of its sign-off role may give it.

    Asked again here, under the lock, of the one rule (``IncidentAccess.can_sign_off``):
    a sign-off in someone else's name would read as that role's acceptance.
    """
    criterion = Criterion.objects.filter(pk=criterion_id).only("incident_id").first()
    if criterion is None:
        raise ServiceError("No such criterion.")
    with transaction.atomic():
        incident = lock_incident(criterion.incident_id)
        criterion = Criterion.objects.get(pk=criterion_id)
        if not criterion.signoff_role:
            raise ServiceError("This criterion is proven by checks, not by a sign-off.")
        if criterion.signed_off_by_id is not None:
            raise ServiceError("Already signed off.", conflict=True)
        if not access_for(by, incident).can_sign_off(criterion):
            raise ServiceError(SIGN_OFF_REFUSED)
        criterion.signed_off_by = by
        criterion.signed_off_at = timezone.now()
        criterion.save(update_fields=["signed_off_by", "signed_off_at"])
        change = Change(incident.pk, criteria=True)
        record(
            incident,
            TimelineEntry.Kind.SIGNED_OFF,
            f"Signed off: {criterion.title}",
            actor=by,
            change=change,
            data={"criterion": criterion.key},
        )
        publish(change)
    return criterion


def resolve_incident(*, incident_id: int, by: User, override_reason: str = "") -> Incident:
    """Close the incident once every success criterion is met (or the IC says why not)."""
    reason = override_reason.strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise ServiceError(f"A reason is at most {REASON_MAX_LENGTH} characters.")
    with transaction.atomic():
        incident = lock_incident(incident_id)
        unmet = [s for s in criteria_status(incident) if not s.is_met]
        if unmet and not reason:
            names = "; ".join(f"{s.criterion.title} ({', '.join(s.missing)})" for s in unmet)
            raise ServiceError(
                f"Success criteria not met: {names}. Give a reason to resolve anyway."
            )
        now = timezone.now()
        phase = current_phase(incident)
        if phase is not None:  # the running phase ends with the incident
            phase.ended_at = now
            phase.clock_state = (
                ClockState.DONE if now <= phase.planned_end_at else ClockState.DONE_LATE
            )
            phase.save(update_fields=["ended_at", "clock_state"])
        incident.status = Incident.Status.RESOLVED
        incident.resolved_at = now
        incident.resolved_by = by
        incident.resolve_override_reason = reason if unmet else ""
        incident.save(
            update_fields=["status", "resolved_at", "resolved_by", "resolve_override_reason"]
        )
        # Resolving takes every control away: every open page fetches its panels again.
        change = Change(incident.pk, header=True, criteria=True, resync=True)
        if phase is not None:
            change.phases.add(phase.pk)
        text = "Resolved: every success criterion met."
        if unmet:
            text = (
                f"Resolved by the IC with {len(unmet)} criterion(s) unmet "
                f"({'; '.join(s.criterion.title for s in unmet)}). Reason: {reason}"
            )
        record(
            incident,
            TimelineEntry.Kind.RESOLVED,
            text,
            actor=by,
            change=change,
            data={"override_reason": reason if unmet else ""},
        )
        notices.resolved(incident, by.pk)
        publish(change)
    return incident
