""" "Measure now": a criterion's metric checks measured on request (htmx POST)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_POST

from common.htmx import HtmxRequest
from incidents import access, panels
from incidents.models import Criterion
from incidents.services.errors import ServiceError
from incidents.services.measuring import measure_criterion

MEASURE_REFUSED = "Only the incident commander or the criterion's sign-off role measures it."


@login_required
@require_POST
def measure_now(request: HtmxRequest, incident_id: int, criterion_id: int) -> HttpResponse:
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    criterion = get_object_or_404(Criterion, pk=criterion_id, incident=incident)
    access.require(acc.can_measure(criterion), MEASURE_REFUSED)
    error = ""
    try:
        measure_criterion(criterion)
    except ServiceError as exc:
        error = exc.message
    incident.refresh_from_db()
    ctx = panels.fragment_context(incident, acc.audience, timezone.now())
    ctx |= panels.criteria_context(incident, error)
    return HttpResponse(render_to_string("incidents/_criteria.html", ctx, request=request))
