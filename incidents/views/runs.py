"""Run, approve, cancel scripted steps; download a run's full log."""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET, require_POST

from common.htmx import HtmxRequest
from incidents import access, services
from incidents.models import StepRun, StepRunLogChunk
from incidents.services import runs
from incidents.views.actions import step_for_user, step_response


@login_required
@require_POST
def run_request(request: HtmxRequest, incident_id: int, step_id: int) -> HttpResponse:
    step_for_user(request, incident_id, step_id)
    try:
        runs.request_run(step_id=step_id, by=request.user)
    except services.ServiceError as exc:
        return step_response(request, incident_id, step_id, exc.message)
    return step_response(request, incident_id, step_id)


def _run_for(
    request: HtmxRequest, incident_id: int, run_id: int
) -> tuple[access.IncidentAccess, StepRun]:
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    run = get_object_or_404(StepRun.objects.select_related("step"), pk=run_id, incident=incident)
    return acc, run


@login_required
@require_POST
def run_approve(request: HtmxRequest, incident_id: int, run_id: int) -> HttpResponse:
    acc, run = _run_for(request, incident_id, run_id)
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
def run_cancel(request: HtmxRequest, incident_id: int, run_id: int) -> HttpResponse:
    acc, run = _run_for(request, incident_id, run_id)
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
    """The whole output (after redaction) as text, streamed chunk by chunk from the database."""
    acc, run = _run_for(request, incident_id, run_id)
    access.require(acc.can_see_logs, "Viewers do not see logs.")
    return log_stream(run)


def log_stream(run: StepRun) -> StreamingHttpResponse:
    """A run's stored output, chunk by chunk from the database (never all in memory)."""

    def chunks() -> Iterator[bytes]:
        texts = (
            StepRunLogChunk.objects.filter(run=run).order_by("seq").values_list("text", flat=True)
        )
        for text in texts.iterator(chunk_size=50):
            yield text.encode()

    response = StreamingHttpResponse(chunks(), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="run-{run.pk}-{run.step.key}.log"'
    return response
