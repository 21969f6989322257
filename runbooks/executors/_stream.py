"""Plumbing shared by the executors that follow a running thing (shell, docker, sql).

Two rules shape it:

- Output must reach viewers while the step runs, yet a chatty script must not
  make the worker hold its whole output. A reader thread turns byte chunks into
  lines and hands them over through a *bounded* queue, so a fast producer is
  held back by its pipe instead of growing the worker's memory.
- ``emit`` and ``should_stop`` are called only from the caller's thread: in the
  service they write to the database, and Django connections belong to the
  thread that opened them.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import Literal

from runbooks.executors.base import ShouldStop, StepCancelled, StepTimedOut

MAX_LINE_BYTES = 64 * 1024  # a longer "line" is emitted in pieces rather than buffered whole
POLL_SECONDS = 0.5  # how often should_stop is asked (it is also the heartbeat)
QUEUE_BATCHES = 64  # bounded hand-over: at most this many chunks' worth of lines in flight

StopReason = Literal["cancelled", "timed_out"]


class LineSplitter:
    """Cuts a byte stream into decoded lines, whatever the chunk boundaries."""

    def __init__(self) -> None:
        self._pending = bytearray()

    def feed(self, chunk: bytes) -> list[str]:
        buf = self._pending
        buf += chunk
        lines: list[str] = []
        start = 0
        while (end := buf.find(b"\n", start)) != -1:
            lines.append(_decode(buf[start:end]))
            start = end + 1
        del buf[:start]
        while len(buf) >= MAX_LINE_BYTES:
            lines.append(_decode(buf[:MAX_LINE_BYTES]))
            del buf[:MAX_LINE_BYTES]
        return lines

    def flush(self) -> list[str]:
        """The last line when the stream did not end with a newline."""
        lines = [_decode(self._pending)] if self._pending else []
        self._pending.clear()
        return lines


def _decode(raw: bytes | bytearray) -> str:
    text = bytes(raw).decode("utf-8", errors="replace")
    return text[:-1] if text.endswith("\r") else text


class LineReader:
    """Drains a blocking byte source in a daemon thread; lines are taken in the caller's thread."""

    def __init__(
        self, chunks: Iterable[bytes], *, name: str, on_done: Callable[[], object] | None = None
    ) -> None:
        self._queue: queue.Queue[list[str] | None] = queue.Queue(maxsize=QUEUE_BATCHES)
        self._abandoned = threading.Event()
        self._on_done = on_done
        self.error: BaseException | None = None
        self.eof = False
        self._thread = threading.Thread(target=self._read, args=(chunks,), name=name, daemon=True)
        self._thread.start()

    def _read(self, chunks: Iterable[bytes]) -> None:
        splitter = LineSplitter()
        try:
            for chunk in chunks:
                if lines := splitter.feed(chunk):
                    self._put(lines)
            if lines := splitter.flush():
                self._put(lines)
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

    def _put(self, item: list[str] | None) -> None:
        while not self._abandoned.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def get(self, timeout: float) -> list[str]:
        """Lines that arrived within ``timeout`` (possibly none); sets ``eof`` at the end.

        After the end it still waits ``timeout``, so a caller looping until something else
        happens (the process exiting) does not spin.
        """
        if self.eof:
            time.sleep(max(timeout, 0.0))
            return []
        try:
            item = self._queue.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return []
        if item is None:
            self.eof = True
            return []
        return item

    def drain(self, timeout: float) -> list[str]:
        """Whatever is left until the end, waiting at most ``timeout`` (after a stop)."""
        deadline = time.monotonic() + timeout
        lines: list[str] = []
        while not self.eof and (left := deadline - time.monotonic()) > 0:
            lines += self.get(min(left, 0.1))
        return lines

    def abandon(self) -> None:
        """Let the thread finish without anyone taking its lines (the caller gave up)."""
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
