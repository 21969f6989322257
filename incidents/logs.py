"""A run's full log as a download: the stored bytes, streamed a few chunks at a time.

Shared by the page's download link and the API's log endpoint.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse

from incidents.models import StepRun, StepRunLogChunk

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
    log in the web process for the length of the download (bench/log_stream.py measures it).
    """
    chunks = _log_chunks_async(run.pk) if isinstance(request, ASGIRequest) else _log_chunks(run.pk)
    response = StreamingHttpResponse(chunks, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="run-{run.pk}-{run.step.key}.log"'
    return response
