"""Confirming a manual safeguard, and the IC's run over held safeguards (htmx POSTs)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_POST

from common.htmx import HtmxRequest
from incidents import access, gates, panels, services
from incidents.models import Incident
from incidents.services import runs
from incidents.services.safeguards import confirm_safeguard
from incidents.views.actions import step_response


@login_required
@require_POST
def safeguard_confirm(request: HtmxRequest, incident_id: int, safeguard_id: str) -> HttpResponse:
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    spec = gates.safeguard_specs(incident).get(safeguard_id)
    if spec is None:
        raise Http404("No such safeguard")
    access.require(
        access.can_confirm_safeguard(acc, spec.owner),
        "Only the incident commander or the safeguard's owner role may confirm it.",
    )
    error = ""
    try:
        confirm_safeguard(
            incident_id=incident.pk,
            safeguard_id=spec.id,
            by=request.user,
            note=request.POST.get("note", ""),
        )
    except services.ServiceError as exc:
        error = exc.message
    incident = Incident.objects.get(pk=incident.pk)
    ctx = panels.fragment_context(incident, "act", timezone.now()) | panels.safeguards_context(
        incident
    )
    html = render_to_string("incidents/_safeguards.html", ctx, request=request)
    flash = {"incident": incident, "error": error, "message": "" if error else "Confirmed."}
    return HttpResponse(html + render_to_string("incidents/_flash.html", flash))


@login_required
@require_POST
def run_override(request: HtmxRequest, incident_id: int, step_id: int) -> HttpResponse:
    """Run a step over its failed or unconfirmed safeguards: the IC, with a reason."""
    _, acc = access.get_step_for_user(request.user, incident_id, step_id)
    access.require(
        access.can_override_safeguards(acc),
        "Only the incident commander may start a step over its safeguards.",
    )
    reason = request.POST.get("reason", "")
    if not reason.strip():
        return step_response(
            request, incident_id, step_id, "Say why the safeguards are overridden."
        )
    try:
        runs.request_run(step_id=step_id, by=request.user, override_reason=reason)
    except services.ServiceError as exc:
        return step_response(request, incident_id, step_id, exc.message)
    return step_response(request, incident_id, step_id)
