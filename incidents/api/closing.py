"""API: phases, success criteria, resolving — the same rules and services as the page."""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router

from common.api import INPUT, READ, WRITE, actor
from common.api_auth import api_auth
from incidents import access, services
from incidents.api.schemas import AdvanceOut, ClosingOut, ReasonIn, criterion_out
from incidents.criteria import criteria_status
from incidents.models import Criterion, Incident

router = Router(auth=api_auth, tags=["closing"])


def _closing(incident_id: int) -> ClosingOut:
    incident = Incident.objects.get(pk=incident_id)
    return ClosingOut(
        status=incident.status,
        resolved_at=incident.resolved_at,
        resolve_override_reason=incident.resolve_override_reason,
        criteria=[criterion_out(s) for s in criteria_status(incident)],
    )


@router.get("/{incident_id}/criteria", response={200: ClosingOut, **READ})
def get_criteria(request: HttpRequest, incident_id: int) -> ClosingOut:
    """Success criteria, whether each is met and what is missing."""
    incident, _ = access.get_incident_for_user(request.user, incident_id)
    return _closing(incident.pk)


@router.post("/{incident_id}/criteria/{criterion_id}/signoff", response={200: ClosingOut, **WRITE})
def sign_off(request: HttpRequest, incident_id: int, criterion_id: int) -> ClosingOut:
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    criterion = get_object_or_404(Criterion, pk=criterion_id, incident=incident)
    access.require(acc.can_sign_off(criterion), access.SIGN_OFF_REFUSED)
    services.sign_off(criterion_id=criterion.pk, by=actor(request))
    return _closing(incident.pk)


@router.post("/{incident_id}/resolve", response={200: ClosingOut, **WRITE, **INPUT})
def resolve(request: HttpRequest, incident_id: int, payload: ReasonIn) -> ClosingOut:
    """Resolve; refused (409/400) while a criterion is unmet unless a reason overrides it."""
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    access.require(acc.can_manage, "Only the incident commander resolves.")
    services.resolve_incident(
        incident_id=incident.pk, by=actor(request), override_reason=payload.reason
    )
    return _closing(incident.pk)


@router.post("/{incident_id}/advance", response={200: AdvanceOut, **WRITE, **INPUT})
def advance(request: HttpRequest, incident_id: int, payload: ReasonIn) -> AdvanceOut:
    """End the running phase and start the next; a reason is required if its exit rule fails."""
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    access.require(acc.can_manage, "Only the incident commander advances phases.")
    following = services.advance_phase(
        incident_id=incident.pk, by=actor(request), reason=payload.reason
    )
    return AdvanceOut(started_phase=following.key if following else None)
