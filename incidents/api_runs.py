"""API: run, approve and cancel scripted steps; read a run and its log.

Same shape as the step endpoints: resolve the incident (404), check the rule
(403), call one service from incidents.services.runs.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from common.api_auth import api_auth
from incidents import access
from incidents.api_incidents import READ, WRITE, actor
from incidents.models import Step, StepRun
from incidents.services import runs
from incidents.views.runs import log_stream

router = Router(auth=api_auth, tags=["runs"])


class RunOut(Schema):
    id: int
    step_id: int
    attempt: int
    status: str
    queue: str
    requested_by: str
    requested_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    exit_code: int | None
    summary: str
    log_lines: int
    log_tail: str | None  # None for people who may not see logs


def run_out(run: StepRun, *, with_log: bool) -> RunOut:
    return RunOut(
        id=run.pk,
        step_id=run.step_id,
        attempt=run.attempt,
        status=run.status,
        queue=run.queue,
        requested_by=run.requested_by.get_username(),
        requested_at=run.requested_at,
        approved_by=run.approved_by.get_username() if run.approved_by else None,
        approved_at=run.approved_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        exit_code=run.exit_code,
        summary=run.summary,
        log_lines=run.log_lines,
        log_tail=run.log_tail if with_log else None,
    )


def _run(
    request: HttpRequest, incident_id: int, run_id: int
) -> tuple[access.IncidentAccess, StepRun]:
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    run = get_object_or_404(
        StepRun.objects.select_related("step", "requested_by", "approved_by"),
        pk=run_id,
        incident=incident,
    )
    return acc, run


def _fresh(run_id: int, acc: access.IncidentAccess) -> RunOut:
    run = StepRun.objects.select_related("requested_by", "approved_by").get(pk=run_id)
    return run_out(run, with_log=acc.can_see_logs)


@router.post("/{incident_id}/steps/{step_id}/run", response={201: RunOut, **WRITE})
def request_run(request: HttpRequest, incident_id: int, step_id: int) -> Status[RunOut]:
    """Run a scripted step (a new attempt; waits for approval if the step is gated)."""
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    step = get_object_or_404(Step, pk=step_id, incident=incident)
    access.require(acc.can_act_on(step), "Only the step's owner role or the commander may run it.")
    run = runs.request_run(step_id=step.pk, by=actor(request))
    return Status(201, _fresh(run.pk, acc))


@router.post("/{incident_id}/runs/{run_id}/approve", response={200: RunOut, **WRITE})
def approve_run(request: HttpRequest, incident_id: int, run_id: int) -> RunOut:
    acc, run = _run(request, incident_id, run_id)
    access.require(
        acc.can_approve(run.step, requested_by_id=run.requested_by_id),
        "Only the gate's role or the commander may approve, and never the person who asked.",
    )
    runs.approve_run(run_id=run.pk, by=actor(request))
    return _fresh(run.pk, acc)


@router.post("/{incident_id}/runs/{run_id}/cancel", response={200: RunOut, **WRITE})
def cancel_run(request: HttpRequest, incident_id: int, run_id: int) -> RunOut:
    acc, run = _run(request, incident_id, run_id)
    access.require(
        acc.can_act_on(run.step), "Only the step's owner role or the commander may cancel."
    )
    runs.cancel_run(run_id=run.pk, by=actor(request))
    return _fresh(run.pk, acc)


@router.get("/{incident_id}/runs/{run_id}", response={200: RunOut, **READ})
def get_run(request: HttpRequest, incident_id: int, run_id: int) -> RunOut:
    acc, run = _run(request, incident_id, run_id)
    return run_out(run, with_log=acc.can_see_logs)


@router.get("/{incident_id}/runs/{run_id}/log", response={**READ})
def get_run_log(request: HttpRequest, incident_id: int, run_id: int) -> StreamingHttpResponse:
    """The whole output: byte for byte what the step wrote, with its secrets replaced
    (text/plain; charset=utf-8, invalid UTF-8 passed through unchanged)."""
    acc, run = _run(request, incident_id, run_id)
    access.require(acc.can_see_logs, "Viewers do not see logs.")
    return log_stream(request, run)
