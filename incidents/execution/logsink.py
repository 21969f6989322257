"""Output of a running step: batched, redacted, stored in full, its tail pushed live.

Executors call ``emit`` from whatever thread reads the process; lines only go
into a buffer there. A flusher thread writes a chunk about every 100 ms and
pushes the last lines to the people who may see logs, so a step printing
hundreds of thousands of lines costs a few writes and pushes a second, and the
browser only ever holds a bounded tail.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable

from django.db import close_old_connections, connection
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
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._lines = 0
        self._seq = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"logsink-{run.pk}", daemon=True)
        self._thread.start()

    def emit(self, line: str) -> None:
        with self._lock:
            self._pending.append(self.redact(line))

    def _loop(self) -> None:
        try:
            while not self._stop.wait(FLUSH_SECONDS):
                self.flush()
            self.flush()
        finally:
            connection.close()  # this thread's own connection

    def flush(self) -> None:
        with self._lock:
            lines, self._pending = self._pending, []
        if not lines:
            return
        first = self._lines
        text = "".join(line + "\n" for line in lines)
        self._lines += len(lines)
        self._tail.extend(lines[-TAIL_LINES:])
        tail = "\n".join(self._tail)
        close_old_connections()
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
        """Flush what is left and stop the flusher; returns when everything is stored."""
        self._stop.set()
        self._thread.join(timeout=30)
