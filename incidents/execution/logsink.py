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
"""

from __future__ import annotations

import time

from incidents import broadcast
from incidents.models import StepRun, StepRunLogChunk
from incidents.redaction import Redactor

TAIL_LINES = 20
TAIL_BYTES = 8 * 1024
FLUSH_SECONDS = 0.1
MAX_CHUNK_BYTES = 1024 * 1024  # bounds a chunk, and what a fast printer makes the worker hold

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
    def __init__(self, run: StepRun, redactor: Redactor) -> None:
        self.run_id = run.pk
        self.incident_id = run.incident_id
        self._redactor = redactor.stream()
        self._pending = bytearray()  # redacted, not yet stored
        self._tail = b""  # the end of what is stored, enough for the tail
        self._bytes = 0
        self._newlines = 0
        self._seq = 0
        self._flushed_at = time.monotonic()

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

    def flush(self) -> None:
        self._flushed_at = time.monotonic()
        if not self._pending:
            return
        data = bytes(self._pending)
        self._pending.clear()
        first_line = self._newlines
        self._newlines += data.count(b"\n")
        self._bytes += len(data)
        self._tail = tail_of(self._tail + data)
        tail = tail_text(self._tail)
        StepRunLogChunk.objects.create(
            run_id=self.run_id, seq=self._seq, first_line=first_line, data=data
        )
        self._seq += 1
        # Absolute values: this sink is the run's only writer of its log.
        StepRun.objects.filter(pk=self.run_id).update(
            log_lines=self.lines, log_bytes=self._bytes, log_tail=tail
        )
        broadcast.push_tail(self.incident_id, self.run_id, tail, self.lines)

    def close(self) -> None:
        """Store what is left, including what the redactor held back to the very end."""
        self._pending += self._redactor.finish()
        self.flush()
