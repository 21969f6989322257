"""Run, approve, cancel scripted steps; download a run's full log."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
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
    """The whole output, byte for byte as the step wrote it with its secrets replaced,
    streamed chunk by chunk from the database."""
    acc, run = _run_for(request, incident_id, run_id)
    access.require(acc.can_see_logs, "Viewers do not see logs.")
    return log_stream(request, run)


# Chunks read per query. A chunk is up to ~100 ms of output and at most 1 MiB (LogSink),
# a few hundred kB for a fast printer, so this bounds what one download holds at a time.
LOG_BATCH = 8


def _log_batch(run_id: int, after_seq: int) -> list[tuple[int, bytes]]:
    rows = (
        StepRunLogChunk.objects.filter(run_id=run_id, seq__gt=after_seq)
        .order_by("seq")
        .values_list("seq", "data")[:LOG_BATCH]
    )
    return [(seq, bytes(data)) for seq, data in rows]  # some drivers give memoryview


def _log_chunks(run_id: int) -> Iterator[bytes]:
    after = -1
    while batch := _log_batch(run_id, after):
        for _seq, data in batch:
            yield data
        after = batch[-1][0]


async def _log_chunks_async(run_id: int) -> AsyncIterator[bytes]:
    after = -1
    while batch := await sync_to_async(_log_batch)(run_id, after):
        for _seq, data in batch:
            yield data
        after = batch[-1][0]


def log_stream(request: HttpRequest, run: StepRun) -> StreamingHttpResponse:
    """A run's stored output, a few chunks at a time from the database (never all in memory).

    The body is the stored bytes unchanged, so the download is what the step wrote with
    only its secrets replaced. It is labelled UTF-8, which is what nearly all output is;
    bytes that are not valid UTF-8 (and NUL, lone CR...) are passed through as they are,
    never replaced, so a client that wants the raw bytes gets them.

    Under ASGI (the server) the body must be an async iterator: Django serves a
    synchronous one by reading it whole into a list first, which held the entire
    log in the web process for the length of the download (bench/RUNS.md).
    """
    chunks = _log_chunks_async(run.pk) if isinstance(request, ASGIRequest) else _log_chunks(run.pk)
    response = StreamingHttpResponse(chunks, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="run-{run.pk}-{run.step.key}.log"'
    return response
