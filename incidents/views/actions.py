"""Writes from the incident page (htmx POSTs).

Each checks the rule in incidents.access on the server, calls one service, and
answers with the fragments to swap: the actor sees the result at once, and
everyone else (this actor's other tabs too) gets it through the websocket.
Refusals by the domain (conflicts, bad input) come back inside the fragment
with status 200 so htmx swaps them; refusals by the rules are 403.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_POST

from common.htmx import HtmxRequest
from incidents import access, panels, selectors, services
from incidents.forms import AssignForm, NoteForm, SkipForm
from incidents.models import Incident
from incidents.services.timeline import NOTE_MAX_LENGTH


def step_response(
    request: HtmxRequest, incident_id: int, step_id: int, error: str = ""
) -> HttpResponse:
    incident = Incident.objects.get(pk=incident_id)
    step = selectors.step_for_fragment(step_id)
    ctx = (
        panels.fragment_context(incident, "act", timezone.now())
        | panels.stored_titles_context(incident_id, [step])
        | panels.step_context(step, error)
    )
    return HttpResponse(render_to_string("incidents/_step.html", ctx, request=request))


@login_required
@require_POST
def step_complete(request: HtmxRequest, incident_id: int, step_id: int) -> HttpResponse:
    access.get_step_for_user(request.user, incident_id, step_id)
    try:
        services.complete_step(step_id=step_id, by=request.user)
    except services.ServiceError as exc:
        return step_response(request, incident_id, step_id, exc.message)
    return step_response(request, incident_id, step_id)


@login_required
@require_POST
def step_skip(request: HtmxRequest, incident_id: int, step_id: int) -> HttpResponse:
    access.get_step_for_user(request.user, incident_id, step_id)
    form = SkipForm(request.POST)
    if not form.is_valid():
        return step_response(request, incident_id, step_id, "Say why the step is skipped.")
    try:
        services.skip_step(step_id=step_id, by=request.user, reason=form.cleaned_data["reason"])
    except services.ServiceError as exc:
        return step_response(request, incident_id, step_id, exc.message)
    return step_response(request, incident_id, step_id)


@login_required
@require_POST
def step_reopen(request: HtmxRequest, incident_id: int, step_id: int) -> HttpResponse:
    access.get_step_for_user(request.user, incident_id, step_id)
    try:
        services.reopen_step(step_id=step_id, by=request.user)
    except services.ServiceError as exc:
        return step_response(request, incident_id, step_id, exc.message)
    return step_response(request, incident_id, step_id)


def _roles_response(request: HtmxRequest, incident_id: int, error: str = "") -> HttpResponse:
    incident = Incident.objects.get(pk=incident_id)
    ctx = panels.fragment_context(incident, "act", timezone.now()) | panels.roles_context(
        selectors.roles_with_holders(incident), "act", error
    )
    return render(request, "incidents/_roles.html", ctx)


@login_required
@require_POST
def role_assign(request: HtmxRequest, incident_id: int) -> HttpResponse:
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    access.require(acc.can_manage, "Only the incident commander assigns roles.")
    form = AssignForm(request.POST)
    if not form.is_valid():
        return _roles_response(request, incident_id, "Choose a person and a role.")
    try:
        services.assign_role(
            incident_id=incident.pk,
            role_key=form.cleaned_data["role"],
            user_id=form.cleaned_data["user"],
            by=request.user,
        )
    except services.ServiceError as exc:
        return _roles_response(request, incident_id, exc.message)
    return _roles_response(request, incident_id)


@login_required
@require_POST
def role_unassign(request: HtmxRequest, incident_id: int, assignment_id: int) -> HttpResponse:
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    access.require(acc.can_manage, "Only the incident commander assigns roles.")
    try:
        services.unassign_role(
            incident_id=incident.pk, assignment_id=assignment_id, by=request.user
        )
    except services.ServiceError as exc:
        return _roles_response(request, incident_id, exc.message)
    return _roles_response(request, incident_id)


@login_required
@require_POST
def note_add(request: HtmxRequest, incident_id: int) -> HttpResponse:
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    access.require(acc.can_add_note, "Viewers cannot write on the timeline.")
    form = NoteForm(request.POST)
    ctx: dict[str, object] = {"incident": incident}
    if not form.is_valid():
        text = request.POST.get("text", "")
        empty = not text.strip()
        ctx |= {
            "error": "Write something first: an empty note is not added."
            if empty
            else f"A note is at most {NOTE_MAX_LENGTH} characters.",
            "text": text,
        }
        return render(request, "incidents/_note_form.html", ctx)
    try:
        entry = services.add_note(
            incident_id=incident.pk, author=request.user, text=form.cleaned_data["text"]
        )
    except services.ServiceError as exc:
        return render(request, "incidents/_note_form.html", ctx | {"error": exc.message})
    # The cleared form, plus the entry itself so the author sees it even before the push.
    html = render_to_string("incidents/_note_form.html", ctx, request=request)
    entry_ctx = panels.fragment_context(incident, acc.audience, timezone.now())
    entry_ctx |= panels.timeline_entry_context(entry)
    html += render_to_string("incidents/_timeline_entry.html", entry_ctx)
    return HttpResponse(html)
