"""Communications pages: the send action (htmx POST) and the talking points.

Thin: look up the incident through ``incidents.access`` (404 for outsiders), check,
call one service. The send's permission is checked by the service (403).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from common.htmx import HtmxRequest
from comms import cadence, drafts, live, services
from comms.forms import SendForm
from incidents import access
from incidents.models import Incident
from incidents.services.errors import ServiceError


def _fragments(request: HtmxRequest, incident_id: int, error: str = "") -> HttpResponse:
    incident = Incident.objects.select_related("runbook_version").get(pk=incident_id)
    context = live.panel_context(incident, timezone.now()) | {"error": error}
    return render(request, "comms/_fragments.html", context)


@login_required
@require_POST
def send(request: HtmxRequest, incident_id: int) -> HttpResponse:
    incident, _ = access.get_incident_for_user(request.user, incident_id)
    form = SendForm(request.POST)
    if not form.is_valid():
        return _fragments(
            request, incident.pk, "The message needs some text (at most 4,000 characters)."
        )
    try:
        services.send_item(
            incident_id=incident.pk,
            user=request.user,
            item_key=form.cleaned_data["item"],
            phase_key=form.cleaned_data["phase"],
            body=form.cleaned_data["body"],
        )
    except ServiceError as exc:
        return _fragments(request, incident.pk, exc.message)
    return _fragments(request, incident.pk)


@login_required
@require_GET
def talking_points(request: HtmxRequest, incident_id: int) -> HttpResponse:
    """A printable page for support: the runbook's talking points filled from the live
    state, and the latest update sent to external audiences. Viewers may read it."""
    incident, _ = access.get_incident_for_user(request.user, incident_id)
    spec = incident.runbook_version.parsed()
    now = timezone.now()
    state = drafts.live_state(incident, spec, now)
    clocks = {c.audience: c.due_at for c in cadence.clocks(incident, spec, now)}
    filled = drafts.values(state, clocks.get("external"))
    latest = incident.comms_sends.filter(audience="external").first()
    return render(
        request,
        "comms/talking_points.html",
        {
            "incident": incident,
            "now": now,
            "points": drafts.render(spec.talking_points, filled),
            "latest": latest,
            "values": filled,
        },
    )


@login_required
@require_GET
def my_style(request: HtmxRequest, incident_id: int) -> HttpResponse:
    """The reader's comms style block again (fetched when roles change, as incidents:me)."""
    _, acc = access.get_incident_for_user(request.user, incident_id)
    return HttpResponse(live.style_block(acc))
