"""A run's full log in the browser: a window of lines and a search, read from the stored chunks.

The log is stored as chunks (``StepRunLogChunk``), each knowing how many newlines came
before it (``first_line``). A window of lines N..M reads only the chunks that hold them,
found by that count, so showing lines 150,000-150,500 of a 200,000-line log costs what
showing the first 500 costs. A search reads the log a few chunks at a time (never all of
it at once) and answers line numbers, at most ``MAX_HITS``. Lines are numbered from 1, as
``StepRun.log_lines`` counts them. What the page shows of a line is decoded as the tail
is (``logsink.tail_text``: invalid UTF-8 replaced, control characters as symbols); the
download keeps the bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from incidents.execution.logsink import tail_text
from incidents.models import StepRun, StepRunLogChunk

PAGE_LINES = 500  # lines per window
MAX_LINE_CHARS = 4000  # longer lines are cut on the page (the download has them whole)
MAX_HITS = 500  # line numbers a search answers, at most
MAX_NEEDLE = 200
READ_BATCH = 8  # chunks per query (a chunk is at most 1 MiB)


@dataclass(frozen=True)
class Line:
    number: int
    text: str
    cut: bool  # longer than MAX_LINE_CHARS on the page


@dataclass(frozen=True)
class Window:
    first: int  # the number of the first line of the window (1-based)
    lines: list[Line]
    total: int  # lines in the log

    @property
    def last(self) -> int:
        return self.first + len(self.lines) - 1

    @property
    def previous(self) -> int | None:
        return max(1, self.first - PAGE_LINES) if self.first > 1 else None

    @property
    def next(self) -> int | None:
        return self.last + 1 if self.last < self.total else None

    @property
    def final(self) -> int:
        """Where the last window starts."""
        return max(1, self.total - PAGE_LINES + 1)


@dataclass(frozen=True)
class Search:
    needle: str
    hits: list[int]  # line numbers, ascending
    more: bool  # stopped at MAX_HITS


def window_start(line: int, total: int) -> int:
    """The start of the page-aligned window holding ``line`` (1, 501, 1001, ...)."""
    line = min(max(1, line), max(1, total))
    return line - (line - 1) % PAGE_LINES


def _chunks_from(run_id: int, seq: int, before_line: int | None) -> Iterator[bytes]:
    """The run's chunks from ``seq`` on, in order, a few per query; only those that begin
    before line ``before_line`` (0-based newline count) if given."""
    after = seq - 1
    while True:
        rows = StepRunLogChunk.objects.filter(run_id=run_id, seq__gt=after)
        if before_line is not None:
            rows = rows.filter(first_line__lt=before_line)
        batch = list(rows.order_by("seq").values_list("seq", "data")[:READ_BATCH])
        if not batch:
            return
        for seq_, data in batch:
            yield bytes(data)
            after = seq_


def _line(number: int, raw: bytes) -> Line:
    text = tail_text(raw)
    cut = len(text) > MAX_LINE_CHARS
    return Line(number, text[:MAX_LINE_CHARS] if cut else text, cut)


def lines(run: StepRun, first: int, count: int = PAGE_LINES) -> Window:
    """Lines ``first``..``first + count - 1`` of the run's log (fewer at its end)."""
    total = run.log_lines
    first = min(max(1, first), max(1, total))
    count = max(1, min(count, PAGE_LINES))
    start, stop = first - 1, first - 1 + count  # 0-based: lines [start, stop)
    # The chunk holding the start of line ``start``: the last to begin before it (a chunk
    # that begins at line k may begin inside it, so one that begins at ``start`` is not
    # enough), or the first chunk for line 0.
    begin = (
        StepRunLogChunk.objects.filter(run_id=run.pk, first_line__lt=start)
        .order_by("-seq")
        .values_list("seq", "first_line")
        .first()
        if start
        else None
    )
    seq, skip = (begin[0], start - begin[1]) if begin else (0, 0)
    out: list[Line] = []
    pending = b""
    for data in _chunks_from(run.pk, seq, stop):
        pending += data
        parts = pending.split(b"\n")
        pending = parts.pop()  # the line still open at this chunk's end
        if skip:
            dropped = min(skip, len(parts))
            parts, skip = parts[dropped:], skip - dropped
            if skip:
                continue
        for raw in parts:
            if len(out) == count:
                break
            out.append(_line(first + len(out), raw))
        if len(out) == count:
            break
        if len(pending) > 4 * MAX_LINE_CHARS and not skip:
            pending = pending[: 4 * MAX_LINE_CHARS]  # a huge line: keep what is shown
    if len(out) < count and pending and not skip:
        out.append(_line(first + len(out), pending))
    return Window(first, out, total)


def search(run: StepRun, needle: str) -> Search:
    """The numbers of the lines holding ``needle`` (ASCII letters matched in either case)."""
    key = needle.encode("utf-8", errors="replace").lower()[: MAX_NEEDLE * 4]
    hits: list[int] = []
    if not key:
        return Search(needle, hits, False)
    line = 0  # 0-based number of the first line of ``pending``
    pending = b""
    for data in _chunks_from(run.pk, 0, None):
        pending += data.lower()
        cut = pending.rfind(b"\n") + 1  # search complete lines only; the rest waits
        body, pending = pending[:cut], pending[cut:]
        if _find_lines(body, key, line, hits):
            return Search(needle, hits[:MAX_HITS], True)
        line += body.count(b"\n")
    _find_lines(pending, key, line, hits)
    more = len(hits) > MAX_HITS
    return Search(needle, hits[:MAX_HITS], more)


def _find_lines(body: bytes, key: bytes, line: int, hits: list[int]) -> bool:
    """Append the 1-based numbers of ``body``'s lines holding ``key``; True past MAX_HITS."""
    at, counted, seen = body.find(key), 0, line
    while at != -1:
        counted_to = body.count(b"\n", counted, at)
        seen, counted = seen + counted_to, at
        hits.append(seen + 1)
        if len(hits) > MAX_HITS:
            return True
        end = body.find(b"\n", at)
        if end == -1:
            return False
        seen, counted = seen + 1, end + 1
        at = body.find(key, end + 1)
    return False
