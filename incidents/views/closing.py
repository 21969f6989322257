"""Advancing phases, signing off success criteria, resolving the incident (htmx POSTs)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from common.htmx import HtmxRequest
from incidents import access, panels, selectors, services
from incidents.models import Criterion, Incident
from incidents.services.opening import enqueue_preflight


def _signoffs_html(
    request: HtmxRequest, incident: Incident, acc: access.IncidentAccess, error: str = ""
) -> str:
    ctx = panels.fragment_context(incident, acc.audience, timezone.now())
    ctx |= panels.signoffs_context(incident, acc, error)
    return render_to_string("incidents/_signoffs.html", ctx, request=request)


def _criteria_html(
    request: HtmxRequest, incident_id: int, acc: access.IncidentAccess, error: str = ""
) -> str:
    incident = Incident.objects.select_related("resolved_by").get(pk=incident_id)
    ctx = panels.fragment_context(incident, acc.audience, timezone.now())
    ctx |= panels.criteria_context(incident, error)
    return render_to_string("incidents/_criteria.html", ctx, request=request)


@login_required
@require_GET
def signoffs(request: HtmxRequest, incident_id: int) -> HttpResponse:
    """The sign-offs this person may give (per user; the criteria panel is shared).

    Not an "act" control marked by role: the product manager who signs off is
    a viewer (no controls at all), and the IC, who sees every control, may not
    sign off for another role.
    """
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    return HttpResponse(_signoffs_html(request, incident, acc))


@login_required
@require_POST
def sign_off(request: HtmxRequest, incident_id: int, criterion_id: int) -> HttpResponse:
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    criterion = get_object_or_404(Criterion, pk=criterion_id, incident=incident)
    access.require(acc.can_sign_off(criterion), access.SIGN_OFF_REFUSED)
    error = ""
    try:
        services.sign_off(criterion_id=criterion.pk, by=request.user)
    except services.ServiceError as exc:
        error = exc.message
    return HttpResponse(
        _signoffs_html(request, incident, acc, error) + _criteria_html(request, incident.pk, acc)
    )


@login_required
@require_POST
def resolve(request: HtmxRequest, incident_id: int) -> HttpResponse:
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    access.require(acc.can_manage, "Only the incident commander resolves.")
    error = ""
    try:
        services.resolve_incident(
            incident_id=incident.pk, by=request.user, override_reason=request.POST.get("reason", "")
        )
    except services.ServiceError as exc:
        error = exc.message
    return HttpResponse(_criteria_html(request, incident.pk, acc, error))


@login_required
@require_POST
def phase_advance(request: HtmxRequest, incident_id: int) -> HttpResponse:
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    access.require(acc.can_manage, "Only the incident commander advances phases.")
    error = ""
    try:
        services.advance_phase(
            incident_id=incident.pk, by=request.user, reason=request.POST.get("reason", "")
        )
    except services.ServiceError as exc:
        error = exc.message
    incident.refresh_from_db()
    ctx = panels.fragment_context(incident, "act", timezone.now())
    html = "".join(
        render_to_string(
            "incidents/_phase_head.html", ctx | panels.phase_context(pv), request=request
        )
        for pv in selectors.phase_views(incident)
    )
    if error:
        html += render_to_string("incidents/_flash.html", {"incident": incident, "error": error})
    return HttpResponse(html)


@login_required
@require_POST
def preflight(request: HtmxRequest, incident_id: int) -> HttpResponse:
    """Queue the safeguard checks again; results arrive by push when a worker has run them."""
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    access.require(acc.can_manage, "Only the incident commander runs the pre-flight checks.")
    enqueue_preflight(incident.pk)
    message = "Pre-flight checks queued; results appear here when a worker has run them."
    return HttpResponse(
        render_to_string("incidents/_flash.html", {"incident": incident, "message": message})
    )
