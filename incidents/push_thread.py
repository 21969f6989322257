"""The worker's deferred push: a Celery worker renders and sends its changes on a thread.

A step worker publishes a change when it claims a run (the step is running) and when
the run ends. Rendered on commit, the first cost the person waiting for the script's
first line a whole render of every audience's fragments before the script started
(``bench/dispatch.py``). Here a worker process hands the change to one thread of its
own, which renders (once per audience, ``broadcast.render_change``, with its own
database connection) and sends, while the task goes on to start the script. Changes of
one incident that wait together are merged into one render (``Change.merge``).

Only a worker's pool processes use it: ``config.celery`` calls ``enable()`` in each
(``worker_process_init``); the thread itself starts on first use in the process. The
log sink waits for what is queued here before it pushes a run's first tail
(``drain``), so the tail never reaches a page before the step fragment that holds it. Elsewhere ``offer`` declines and the
caller renders on commit as before. When a worker process shuts down, what waits is
sent first (``drain``). A failed render or send is logged and counted, never raised:
pushes are hints, a page that reconnects fetches its panels.
"""

from __future__ import annotations

import copy
import logging
import os
import threading

from django.db import close_old_connections, connections

from incidents import events, metrics
from incidents.access import Audience
from incidents.events import Change
from incidents.push_loop import Render

logger = logging.getLogger(__name__)


class PushThread:
    def __init__(self) -> None:
        self.pid = os.getpid()
        self.pending: dict[int, tuple[Change, float, Render]] = {}
        self.busy = False
        self.stopping = False
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._serve, name="ripcord-push", daemon=True)
        self.thread.start()

    def add(self, change: Change, since: float, render: Render) -> None:
        with self.cond:
            waiting = self.pending.get(change.incident_id)
            if waiting is None:
                self.pending[change.incident_id] = (copy.deepcopy(change), since, render)
            else:
                waiting[0].merge(change)
            self.cond.notify_all()

    def drain(self, timeout: float) -> bool:
        """Wait until nothing waits or is being sent; False if ``timeout`` ran out first."""
        with self.cond:
            return self.cond.wait_for(lambda: not self.pending and not self.busy, timeout)

    def stop(self) -> None:
        """Send what waits, then end the thread and close its connection."""
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        self.thread.join(timeout=5)

    def _serve(self) -> None:
        try:
            while True:
                with self.cond:
                    self.busy = False
                    self.cond.notify_all()
                    self.cond.wait_for(lambda: bool(self.pending) or self.stopping)
                    if not self.pending:
                        return
                    batch = list(self.pending.values())
                    self.pending.clear()
                    self.busy = True
                for change, since, render in batch:
                    _push(change, since, render)
        finally:
            connections.close_all()  # this thread's connections only


def _push(change: Change, since: float, render: Render) -> None:
    close_old_connections()  # a connection PostgreSQL dropped is replaced, not reused
    try:
        with metrics.pushing("change", since=since):
            rendered: dict[Audience, str] = render(change)
            for audience, html in rendered.items():
                if html:
                    events.send_html(change.incident_id, audience, html)
                if change.resync:
                    events.send_frame(change.incident_id, audience, resync=True)
    except Exception:
        logger.exception("could not push a change of incident %s", change.incident_id)
    finally:
        close_old_connections()


_enabled = False
_current: PushThread | None = None
_lock = threading.Lock()


def enable() -> None:
    """This process and the processes it forks push on a thread (called by config.celery)."""
    global _enabled
    _enabled = True


def offer(change: Change, since: float, render: Render) -> bool:
    """Hand ``change`` to this process's push thread; False where there is none."""
    global _current
    if not _enabled:
        return False
    with _lock:
        if _current is None or _current.pid != os.getpid():  # first use, or a forked child
            _current = PushThread()
        current = _current
    current.add(change, since, render)
    return True


def drain(timeout: float = 5.0) -> bool:
    """Send what waits before the process ends (a worker's shutdown)."""
    current = _current
    if current is None or current.pid != os.getpid():
        return True
    return current.drain(timeout)


def disable() -> None:
    """Back to rendering on commit, the thread ended (tests)."""
    global _enabled, _current
    with _lock:
        _enabled = False
        current, _current = _current, None
    if current is not None and current.pid == os.getpid():
        current.stop()
