"""Plumbing shared by the executors: following a running thing's output (shell, docker),
and the deadline and stop polling every executor keeps (``Watch``).

Three rules shape it:

- Output must reach viewers while the step runs, yet a chatty script must not
  make the worker hold its whole output. A reader thread hands the bytes over
  through a *bounded* queue, so a fast producer is held back by its pipe instead
  of growing the worker's memory.
- The bytes are passed on as they were read: no decoding, no splitting into
  lines, nothing added or dropped. The log must be byte-identical to what the
  process wrote, and redaction works on the byte stream (incidents.redaction).
- ``emit`` and ``should_stop`` are called only from the caller's thread: in the
  service they write to the database, and Django connections belong to the
  thread that opened them.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Literal

from runbooks.executors.base import Emit, ShouldStop, StepCancelled, StepTimedOut, as_line

MAX_PIECE_BYTES = 64 * 1024  # a larger chunk from the source is handed over in pieces
POLL_SECONDS = 0.5  # how often should_stop is asked (a cancel is heard within this)
QUEUE_PIECES = 64  # bounded hand-over: at most this many pieces (4 MiB) in flight

StopReason = Literal["cancelled", "timed_out"]


class Output:
    """The executor's side of ``emit``: the followed process's bytes untouched, and
    Ripcord's own notes (``[ripcord] ...``), each on a line of its own.

    Notes appear only when Ripcord stepped in (stopping leftovers, a failed reader, an
    earlier attempt's container); a note arriving while the process's last line is
    still open starts on a new line rather than inside it.
    """

    def __init__(self, emit: Emit) -> None:
        self._emit = emit
        self._at_line_start = True

    def write(self, data: bytes) -> None:
        if data:
            self._emit(data)
            self._at_line_start = data.endswith(b"\n")

    def note(self, text: str) -> None:
        self._emit((b"" if self._at_line_start else b"\n") + as_line(f"[ripcord] {text}"))
        self._at_line_start = True


class OutputReader:
    """Drains a blocking byte source in a daemon thread; the bytes are taken in the caller's thread."""

    def __init__(
        self, chunks: Iterable[bytes], *, name: str, on_done: Callable[[], object] | None = None
    ) -> None:
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUE_PIECES)
        self._abandoned = threading.Event()
        self._on_done = on_done
        self.error: BaseException | None = None
        self.eof = False
        self._thread = threading.Thread(target=self._read, args=(chunks,), name=name, daemon=True)
        self._thread.start()

    def _read(self, chunks: Iterable[bytes]) -> None:
        try:
            for chunk in chunks:
                for start in range(0, len(chunk), MAX_PIECE_BYTES):
                    self._put(bytes(chunk[start : start + MAX_PIECE_BYTES]))
        except BaseException as exc:  # handed to the caller: a dying thread must not go unseen
            self.error = exc
        finally:
            # The source is closed here, by the only thread reading it, so a close can never
            # race a read on the same file descriptor.
            try:
                if self._on_done is not None:
                    self._on_done()
            except Exception as exc:
                self.error = self.error or exc
            finally:
                self._put(None)

    def _put(self, item: bytes | None) -> None:
        while not self._abandoned.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def get(self, timeout: float) -> bytes:
        """Bytes that arrived within ``timeout`` (possibly none); sets ``eof`` at the end.

        After the end it still waits ``timeout``, so a caller looping until something else
        happens (the process exiting) does not spin.
        """
        if self.eof:
            time.sleep(max(timeout, 0.0))
            return b""
        try:
            item = self._queue.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return b""
        if item is None:
            self.eof = True
            return b""
        return item

    def drain(self, timeout: float) -> Iterator[bytes]:
        """Whatever is left until the end, waiting at most ``timeout`` in all (after a stop)."""
        deadline = time.monotonic() + timeout
        while not self.eof and (left := deadline - time.monotonic()) > 0:
            if data := self.get(min(left, 0.1)):
                yield data

    def abandon(self) -> None:
        """Let the thread finish without anyone taking its bytes (the caller gave up)."""
        self._abandoned.set()


class Watch:
    """Asks ``should_stop`` about every POLL_SECONDS and keeps the step's deadline."""

    def __init__(self, should_stop: ShouldStop, timeout_seconds: float) -> None:
        self._should_stop = should_stop
        self.timeout_seconds = timeout_seconds
        self.deadline = time.monotonic() + timeout_seconds
        self._next_poll = 0.0  # the first call asks at once: a run cancelled early never starts

    def remaining(self) -> float:
        return max(self.deadline - time.monotonic(), 0.0)

    def reason(self) -> StopReason | None:
        now = time.monotonic()
        if now >= self._next_poll:
            self._next_poll = now + POLL_SECONDS
            if self._should_stop():
                return "cancelled"
        return "timed_out" if now >= self.deadline else None

    def error(self, reason: StopReason) -> StepCancelled | StepTimedOut:
        if reason == "cancelled":
            return StepCancelled("cancelled while running")
        return StepTimedOut(f"timed out after {self.timeout_seconds:g} s")
