"""API: run, approve and cancel scripted steps; read a run and its log.

Same shape as the step endpoints: resolve the incident (404), check the rule
(403), call one service from incidents.services.runs.
"""

from __future__ import annotations

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Router, Status

from common.api import INPUT, READ, WRITE, actor
from common.api_auth import api_auth
from incidents import access, selectors
from incidents.api.schemas import RunOut, SelfApproveIn, run_out
from incidents.logs import log_stream
from incidents.models import StepRun
from incidents.services import runs

router = Router(auth=api_auth, tags=["runs"])


def _fresh(run_id: int, acc: access.IncidentAccess) -> RunOut:
    run = StepRun.objects.select_related("requested_by", "approved_by").get(pk=run_id)
    return run_out(run, with_log=acc.can_see_logs)


@router.post("/{incident_id}/steps/{step_id}/run", response={201: RunOut, **WRITE})
def request_run(request: HttpRequest, incident_id: int, step_id: int) -> Status[RunOut]:
    """Run a scripted step (a new attempt; waits for approval if the step is gated)."""
    step, acc = access.get_step_for_user(
        request.user,
        incident_id,
        step_id,
        "Only the step's owner role or the commander may run it.",
    )
    run = runs.request_run(step_id=step.pk, by=actor(request))
    return Status(201, _fresh(run.pk, acc))


@router.post("/{incident_id}/runs/{run_id}/approve", response={200: RunOut, **WRITE})
def approve_run(request: HttpRequest, incident_id: int, run_id: int) -> RunOut:
    run, acc = access.get_run_for_user(request.user, incident_id, run_id)
    access.require(
        acc.can_approve(run.step, requested_by_id=run.requested_by_id),
        "Only the gate's role or the commander may approve, and never the person who asked.",
    )
    runs.approve_run(run_id=run.pk, by=actor(request))
    return _fresh(run.pk, acc)


@router.post("/{incident_id}/runs/{run_id}/self-approve", response={200: RunOut, **WRITE, **INPUT})
def self_approve_run(
    request: HttpRequest, incident_id: int, run_id: int, payload: SelfApproveIn
) -> RunOut:
    """The IC approves their own run gated on the incident commander, with a reason,
    while no other commander exists: recorded as an override (README)."""
    run, acc = access.get_run_for_user(request.user, incident_id, run_id)
    others = selectors.other_commanders(request.user.pk)
    access.require(
        acc.can_self_approve(
            run.step, requested_by_id=run.requested_by_id, other_commanders=len(others)
        ),
        runs.self_approval_refusal(others),
    )
    runs.self_approve_run(run_id=run.pk, by=actor(request), reason=payload.reason)
    return _fresh(run.pk, acc)


@router.post("/{incident_id}/runs/{run_id}/cancel", response={200: RunOut, **WRITE})
def cancel_run(request: HttpRequest, incident_id: int, run_id: int) -> RunOut:
    run, acc = access.get_run_for_user(request.user, incident_id, run_id)
    access.require(
        acc.can_act_on(run.step), "Only the step's owner role or the commander may cancel."
    )
    runs.cancel_run(run_id=run.pk, by=actor(request))
    return _fresh(run.pk, acc)


@router.get("/{incident_id}/runs/{run_id}", response={200: RunOut, **READ})
def get_run(request: HttpRequest, incident_id: int, run_id: int) -> RunOut:
    run, acc = access.get_run_for_user(request.user, incident_id, run_id)
    return run_out(run, with_log=acc.can_see_logs)


LOG_OK = {
    "responses": {
        200: {
            "description": "The log as text/plain; charset=utf-8",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    }
}


@router.get("/{incident_id}/runs/{run_id}/log", response={**READ}, openapi_extra=LOG_OK)
def get_run_log(request: HttpRequest, incident_id: int, run_id: int) -> StreamingHttpResponse:
    """The whole output: byte for byte what the step wrote, with its secrets replaced
    (text/plain; charset=utf-8, invalid UTF-8 passed through unchanged)."""
    run, acc = access.get_run_for_user(request.user, incident_id, run_id)
    access.require(acc.can_see_logs, "Viewers do not see logs.")
    return log_stream(request, run)
