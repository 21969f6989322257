"""Output of a running step: redacted, batched, stored in full, its tail pushed live.

Executors call ``emit`` on the worker's own thread with the output's bytes, cut anywhere
(runbooks.executors._stream reads the process on a helper thread and hands them back).

- What is stored is the bytes the step wrote, with only its secrets replaced: the chunks
  of a run, concatenated, are the log, byte for byte (CR, NUL, invalid UTF-8, a missing
  final newline and all). Redaction runs on the stream (``redaction``), so a secret split
  between two reads or spanning lines is still caught.
- Bytes are written as one chunk at most every 100 ms (or once a chunk reaches
  MAX_CHUNK_BYTES), with the last lines pushed to the people who may see logs
  (``broadcast.push_tail``: this module collects bytes, it renders nothing); each
  ``should_stop`` poll (the runner's StopCheck) flushes too, so a quiet process's last
  output is not held back (the lease is renewed apart, by a thread of its own). A step
  printing hundreds of thousands of lines costs about ten writes and pushes a second, and
  the worker holds one chunk, never the whole output.
- The tail is for display only: decoded leniently, CR before a line end dropped, control
  characters shown as symbols, at most TAIL_LINES lines and TAIL_BYTES bytes, so a
  browser never receives more than a screenful.
- ``log_lines`` counts lines as the page speaks of them: every newline, plus one for a
  last line still without one.
- An outage never stops the step (its outcome is the process's outcome, and its log is
  all it printed). A write that fails because the database is away leaves the bytes
  pending, to be written (as MAX_CHUNK_BYTES chunks, in one transaction with the run's
  counters) at a later flush, tried no sooner than a growing pause
  (``incidents.execution.durable``); past MAX_HELD_BYTES pending, ``emit`` waits for the
  database, holding the step back on its pipe. A write whose commit happened though its
  answer was lost is recognised by its chunks' numbers and not written twice. ``close``
  keeps trying until the caller's deadline. A push that fails (Redis away) is logged and
  dropped: the newest tail is pushed again at a flush PUSH_RETRY_SECONDS later.
"""

from __future__ import annotations

import logging
import time

from django.db import DatabaseError, IntegrityError, transaction

from incidents import broadcast, push_thread
from incidents.execution import durable
from incidents.models import StepRun, StepRunLogChunk
from incidents.redaction import Redactor

logger = logging.getLogger(__name__)

TAIL_LINES = 20
TAIL_BYTES = 8 * 1024
FLUSH_SECONDS = 0.1
MAX_CHUNK_BYTES = 1024 * 1024  # bounds a chunk, and what a fast printer makes the worker hold
MAX_HELD_BYTES = 64 * MAX_CHUNK_BYTES  # output held while the database is away, at most
PUSH_RETRY_SECONDS = 1.0  # after a failed push, the next is tried no sooner

# C0 controls (but tab) as their Unicode "control pictures" (NUL → ␀, CR → ␍, ESC → ␛),
# DEL as ␡, C1 controls as U+FFFD: none of them reaches the page or the database as such
# (PostgreSQL text cannot hold NUL, and an HTML parser turns a lone CR into a line break).
_VISIBLE = (
    {code: 0x2400 + code for code in range(0x20) if code != 0x09}
    | {0x7F: 0x2421}
    | dict.fromkeys(range(0x80, 0xA0), 0xFFFD)
)


def tail_of(data: bytes) -> bytes:
    """The end of ``data`` that holds its last TAIL_LINES lines, at most TAIL_BYTES long."""
    start = len(data) - 1 if data.endswith(b"\n") else len(data)
    for _ in range(TAIL_LINES):
        start = data.rfind(b"\n", 0, start)
        if start == -1:
            break
    start += 1
    if len(data) - start > TAIL_BYTES:
        start = len(data) - TAIL_BYTES
        # Cut inside a long line: do not begin with the rest of a UTF-8 sequence.
        for _ in range(3):
            if start < len(data) and 0x80 <= data[start] < 0xC0:
                start += 1
    return data[start:]


def tail_text(tail: bytes) -> str:
    """The tail as the page shows it (and as the run row keeps it)."""
    lines = tail.decode("utf-8", errors="replace").split("\n")
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()  # the newline ending the last line starts no line of its own
    return "\n".join(line.removesuffix("\r").translate(_VISIBLE) for line in lines)


class LogSink:
    """One run's output on its way to the database and the page (see the module docstring)."""

    def __init__(self, run: StepRun, redactor: Redactor) -> None:
        self.run_id = run.pk
        self.incident_id = run.incident_id
        self._redactor = redactor.stream()
        self._pending = bytearray()  # redacted, not yet stored
        # What is stored: its end (enough for the tail), size, newlines, and the next seq.
        self._tail = b""
        self._bytes = 0
        self._newlines = 0
        self._seq = 0
        self._flushed_at = time.monotonic()
        self._store_after = 0.0  # after a failed write, the next is not tried before this
        self._store_pause = durable.RETRY_FIRST_SECONDS
        self._unpushed: str | None = None  # the newest tail not yet pushed
        self._push_after = 0.0
        self._drained = False  # the push thread had nothing queued before the first tail

    @property
    def lines(self) -> int:
        open_line = self._bytes > 0 and not self._tail.endswith(b"\n")
        return self._newlines + open_line

    def emit(self, data: bytes) -> None:
        self._pending += self._redactor.feed(data)
        if (
            len(self._pending) >= MAX_CHUNK_BYTES
            or time.monotonic() - self._flushed_at >= FLUSH_SECONDS
        ):
            self.flush()
        while len(self._pending) >= MAX_HELD_BYTES:
            # The database has been away for a while and the step prints fast: hold the step
            # back on its pipe rather than hold its output without bound.
            time.sleep(max(0.0, self._store_after - time.monotonic()))
            self.flush()

    def flush(self) -> None:
        """Store what is pending and push the tail, each if it may be tried now; never raises
        for an unreachable database or channel layer (what failed is tried again later)."""
        now = self._flushed_at = time.monotonic()
        if self._pending and now >= self._store_after:
            self._store()
        if self._unpushed is not None and now >= self._push_after:
            self._push()

    def close(self, *, deadline: float | None = None) -> None:
        """Store what is left, including what the redactor held back to the very end.

        Retried while the database is away, until ``deadline`` (a ``time.monotonic()``
        value; WRITE_RETRY_SECONDS from now by default); then an error is raised and the
        unstored end is lost.
        """
        if deadline is None:
            deadline = time.monotonic() + durable.WRITE_RETRY_SECONDS
        self._pending += self._redactor.finish()
        while self._pending:
            self._store_after = 0.0
            if not self._store() and time.monotonic() + self._store_pause > deadline:
                raise DatabaseError(f"run {self.run_id}: the log's last bytes could not be stored")
            if self._pending:
                time.sleep(self._store_pause)
        if self._unpushed is not None:
            self._push()  # once: a page that missed it catches up from the outcome's push

    def _store(self) -> bool:
        """One attempt at storing everything pending; whether it went through."""
        data = bytes(self._pending)
        chunks = []
        seq, newlines, size, tail = self._seq, self._newlines, self._bytes, self._tail
        for start in range(0, len(data), MAX_CHUNK_BYTES):
            piece = data[start : start + MAX_CHUNK_BYTES]
            chunks.append(
                StepRunLogChunk(run_id=self.run_id, seq=seq, first_line=newlines, data=piece)
            )
            seq, newlines, size = seq + 1, newlines + piece.count(b"\n"), size + len(piece)
            tail = tail_of(tail + piece)
        lines = newlines + (size > 0 and not tail.endswith(b"\n"))
        try:
            with transaction.atomic():
                StepRunLogChunk.objects.bulk_create(chunks)
                # Absolute values: this sink is the run's only writer of its log.
                StepRun.objects.filter(pk=self.run_id).update(
                    log_lines=lines, log_bytes=size, log_tail=tail_text(tail)
                )
        except IntegrityError:
            # An earlier attempt was committed though its answer was lost: take what it
            # stored. Anything else (the run is gone) is a refusal, not an outage.
            if not self._adopt_stored():
                raise
            return True
        except durable.CONNECTION_ERRORS as exc:
            self._store_failed(exc)
            return False
        if self._store_pause > durable.RETRY_FIRST_SECONDS:
            logger.warning("run %s: its output is being stored again", self.run_id)
        self._store_pause = durable.RETRY_FIRST_SECONDS
        self._seq, self._newlines, self._bytes, self._tail = seq, newlines, size, tail
        del self._pending[: len(data)]
        self._unpushed = tail_text(tail)
        return True

    def _store_failed(self, exc: Exception) -> None:
        durable.replace_connection()
        if self._store_pause == durable.RETRY_FIRST_SECONDS:
            logger.warning(
                "run %s: could not store its output (%s); holding it and retrying", self.run_id, exc
            )
        self._store_after = time.monotonic() + self._store_pause
        self._store_pause = durable.next_pause(self._store_pause)

    def _adopt_stored(self) -> bool:
        """Count the chunks already stored from ``_seq`` on as stored (they are the start of
        what is pending: nobody else writes this run's log); whether there were any."""
        stored = list(
            StepRunLogChunk.objects.filter(run_id=self.run_id, seq__gte=self._seq)
            .order_by("seq")
            .values_list("data", flat=True)
        )
        for data in map(bytes, stored):
            if not self._pending.startswith(data):
                raise DatabaseError(f"run {self.run_id}: its stored log is not what it printed")
            del self._pending[: len(data)]
            self._seq += 1
            self._newlines += data.count(b"\n")
            self._bytes += len(data)
            self._tail = tail_of(self._tail + data)
            self._unpushed = tail_text(self._tail)
        return bool(stored)

    def _push(self) -> None:
        """Push the newest tail. Best effort: a push that fails (Redis away) is logged and the
        newest tail pushed at a later flush; it never reaches the step."""
        assert self._unpushed is not None
        if not self._drained:
            # The run's "running" fragment, which holds the tail's box, may still be on the
            # worker's push thread: a tail pushed before it would find no box on the page.
            self._drained = push_thread.drain(timeout=2.0)
        try:
            broadcast.push_tail(self.incident_id, self.run_id, self._unpushed, self.lines)
        except Exception as exc:
            if self._push_after == 0.0:
                logger.warning("run %s: could not push its output live (%s)", self.run_id, exc)
            self._push_after = time.monotonic() + PUSH_RETRY_SECONDS
            return
        if self._push_after:
            logger.warning("run %s: its output is pushed live again", self.run_id)
        self._unpushed = None
        self._push_after = 0.0
