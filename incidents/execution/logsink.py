"""Output of a running step: batched, redacted, stored in full, its tail pushed live.

Executors call ``emit`` on the worker's own thread (runbooks.executors._stream
reads the process on a helper thread and hands lines back). Lines are buffered
and written as one chunk at most every 100 ms, with the last lines pushed to the
people who may see logs; the heartbeat flushes too, so a quiet process's last
line is not held back. A step printing hundreds of thousands of lines costs
about ten writes and pushes a second, and the browser only holds a bounded tail.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

from django.db.models import F
from django.template.loader import render_to_string

from incidents import events
from incidents.models import StepRun, StepRunLogChunk

TAIL_LINES = 20
FLUSH_SECONDS = 0.1


class LogSink:
    def __init__(self, run: StepRun, redact: Callable[[str], str]) -> None:
        self.run_id = run.pk
        self.incident_id = run.incident_id
        self.redact = redact
        self._pending: list[str] = []
        self._tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._lines = 0
        self._seq = 0
        self._flushed_at = time.monotonic()

    def emit(self, line: str) -> None:
        self._pending.append(self.redact(line))
        if time.monotonic() - self._flushed_at >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        self._flushed_at = time.monotonic()
        lines, self._pending = self._pending, []
        if not lines:
            return
        first = self._lines
        text = "".join(line + "\n" for line in lines)
        self._lines += len(lines)
        self._tail.extend(lines[-TAIL_LINES:])
        tail = "\n".join(self._tail)
        StepRunLogChunk.objects.create(
            run_id=self.run_id, seq=self._seq, first_line=first, text=text
        )
        self._seq += 1
        StepRun.objects.filter(pk=self.run_id).update(
            log_lines=F("log_lines") + len(lines),
            log_bytes=F("log_bytes") + len(text.encode()),
            log_tail=tail,
        )
        html = render_to_string(
            "incidents/_run_tail.html",
            {"run_id": self.run_id, "tail": tail, "lines": self._lines},
        )
        # Logs go to the people who may act only; viewers never receive them.
        events.group_send(
            events.incident_group(self.incident_id, "act"), {"type": "incident.html", "html": html}
        )

    def close(self) -> None:
        """Store what is left."""
        self.flush()
