"""Run, approve, cancel scripted steps; download a run's full log."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET, require_POST

from common.htmx import HtmxRequest
from incidents import access, selectors, services
from incidents.logs import log_stream
from incidents.services import runs
from incidents.views.actions import step_response


@login_required
@require_POST
def run_request(request: HtmxRequest, incident_id: int, step_id: int) -> HttpResponse:
    access.get_step_for_user(request.user, incident_id, step_id)
    try:
        runs.request_run(step_id=step_id, by=request.user)
    except services.ServiceError as exc:
        return step_response(request, incident_id, step_id, exc.message)
    return step_response(request, incident_id, step_id)


@login_required
@require_POST
def run_approve(request: HtmxRequest, incident_id: int, run_id: int) -> HttpResponse:
    run, acc = access.get_run_for_user(request.user, incident_id, run_id)
    access.require(
        acc.can_approve(run.step, requested_by_id=run.requested_by_id),
        "Only the gate's role or the commander may approve, and never the person who asked.",
    )
    try:
        runs.approve_run(run_id=run.pk, by=request.user)
    except services.ServiceError as exc:
        return step_response(request, incident_id, run.step_id, exc.message)
    return step_response(request, incident_id, run.step_id)


@login_required
@require_POST
def run_self_approve(request: HtmxRequest, incident_id: int, run_id: int) -> HttpResponse:
    """The IC approves their own run gated on the IC, with a reason, when no other
    commander can (``IncidentAccess.can_self_approve``): an override on the record."""
    run, acc = access.get_run_for_user(request.user, incident_id, run_id)
    others = selectors.other_commanders(request.user.pk)
    access.require(
        acc.can_self_approve(
            run.step, requested_by_id=run.requested_by_id, other_commanders=len(others)
        ),
        runs.self_approval_refusal(others),
    )
    try:
        runs.self_approve_run(run_id=run.pk, by=request.user, reason=request.POST.get("reason", ""))
    except services.ServiceError as exc:
        return step_response(request, incident_id, run.step_id, exc.message)
    return step_response(request, incident_id, run.step_id)


@login_required
@require_POST
def run_cancel(request: HtmxRequest, incident_id: int, run_id: int) -> HttpResponse:
    run, acc = access.get_run_for_user(request.user, incident_id, run_id)
    access.require(
        acc.can_act_on(run.step), "Only the step's owner role or the commander may cancel."
    )
    try:
        runs.cancel_run(run_id=run.pk, by=request.user)
    except services.ServiceError as exc:
        return step_response(request, incident_id, run.step_id, exc.message)
    return step_response(request, incident_id, run.step_id)


@login_required
@require_GET
def run_log(request: HtmxRequest, incident_id: int, run_id: int) -> StreamingHttpResponse:
    """The whole output, byte for byte as the step wrote it with its secrets replaced,
    streamed chunk by chunk from the database."""
    run, acc = access.get_run_for_user(request.user, incident_id, run_id)
    access.require(acc.can_see_logs, "Viewers do not see logs.")
    return log_stream(request, run)
