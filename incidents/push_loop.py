"""The server's deferred push: a change is rendered and fanned out off the request.

In the ASGI server (``config.asgi`` attaches its event loop here) a committed change
is handed to this loop instead of being rendered on the request's thread, so the
person who acted gets their answer as soon as the change is committed. On the loop,
changes wait per incident; one task renders them on a thread of its own (with its own
database connection) and sends the bytes with the loop's own channel layer. Changes
of one incident that arrive while a render is under way are merged into one render
(``Change.merge``): a burst of ticks costs one render per audience, not one each.
An incident is pushed at most once per ``RIPCORD_PUSH_INTERVAL_MS``: a change that
comes sooner after its incident's last push waits for the rest of that interval,
merged with whatever else arrives, so under a burst each socket gets one message per
interval instead of one per change (its send is the cost that grows with viewers,
bench/README.md "sustained.py"). An isolated change goes at once.

Rendering is still once per audience (``broadcast.render_change``), from the database
at the moment it runs, so a merged or late render shows the newest state, with its
revision (``data-rev``). Elsewhere (Celery workers, management commands, tests with no
server) nothing is attached and ``broadcast`` renders on commit as before.

A failed render or send is logged and counted (``incidents.metrics``), never raised
into anyone's request: pushes are hints, a page that reconnects fetches its panels.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, connections

from incidents import events, metrics
from incidents.access import Audience
from incidents.events import Change

logger = logging.getLogger(__name__)

Render = Callable[[Change], dict[Audience, str]]


class PushLoop:
    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float) -> None:
        self.loop = loop
        self.interval = interval  # seconds between two pushes of one incident, at least
        self.pending: dict[int, tuple[Change, float, Render]] = {}
        self.tasks: dict[int, asyncio.Task[None]] = {}  # one per incident with changes
        self.last: dict[int, float] = {}  # loop.time() of each incident's last push
        self.closed = False
        # One thread: renders in order, with one database connection of its own.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ripcord-push")

    def add(self, change: Change, since: float, render: Render) -> None:
        """On the loop: queue ``change``, merged into one already waiting for its incident."""
        incident_id = change.incident_id
        waiting = self.pending.get(incident_id)
        if waiting is None:
            self.pending[incident_id] = (copy.deepcopy(change), since, render)
        else:
            waiting[0].merge(change)
        task = self.tasks.get(incident_id)
        if task is None or task.done():
            self.tasks[incident_id] = self.loop.create_task(self._drain(incident_id))

    async def _drain(self, incident_id: int) -> None:
        """Push the incident's waiting changes, no sooner than ``interval`` after the last."""
        while incident_id in self.pending:
            wait = self.last.get(incident_id, -self.interval) + self.interval - self.loop.time()
            if wait > 0:
                await asyncio.sleep(wait)  # what arrives meanwhile merges into this push
            if self.closed:
                return  # detached meanwhile: its render thread is gone
            change, since, render = self.pending.pop(incident_id)
            self.last[incident_id] = self.loop.time()
            await self._push(change, since, render)
        self.tasks.pop(incident_id, None)
        # Forget incidents not pushed for a while (a long-lived server sees many).
        stale = self.loop.time() - max(self.interval, 1.0)
        for other in [i for i, at in self.last.items() if at < stale and i not in self.tasks]:
            del self.last[other]

    async def _push(self, change: Change, since: float, render: Render) -> None:
        try:
            with metrics.pushing("change", since=since):
                rendered = await self.loop.run_in_executor(self.executor, _render, render, change)
                for audience, html in rendered.items():
                    group = events.incident_group(change.incident_id, audience)
                    if html:
                        await events.agroup_send(group, events.html_push(html))
                    if change.resync:
                        frame = events.frame_text(resync=True)
                        await events.agroup_send(group, events.html_push(frame))
        except Exception:
            logger.exception("could not push a change of incident %s", change.incident_id)


def _render(render: Render, change: Change) -> dict[Audience, str]:
    """On the push thread: its connection is checked (and given back) around each render."""
    close_old_connections()
    try:
        return render(change)
    finally:
        close_old_connections()


_current: PushLoop | None = None
_lock = threading.Lock()


def attach(loop: asyncio.AbstractEventLoop, *, interval: float | None = None) -> None:
    """The server's event loop takes the pushes from now on (called by config.asgi).

    ``interval``: seconds between two pushes of one incident (the setting if None)."""
    global _current
    if interval is None:
        interval = settings.RIPCORD_PUSH_INTERVAL_MS / 1000
    with _lock:
        if _current is None or _current.loop is not loop:
            _current = PushLoop(loop, interval)


def offer(change: Change, since: float, render: Render) -> bool:
    """Hand ``change`` to the server's loop; False if there is none (render it here, then).

    ``since``: the ``perf_counter`` at publishing, which the push's delay is measured from.
    """
    push_loop = _current
    if push_loop is None or push_loop.loop.is_closed() or not push_loop.loop.is_running():
        return False
    push_loop.loop.call_soon_threadsafe(push_loop.add, change, since, render)
    return True


def detach() -> None:
    """Forget the loop, and close its render thread's database connection (tests: an ASGI
    application called in a test's own process must not take the pushes of later tests)."""
    global _current
    with _lock:
        current, _current = _current, None
    if current is not None:
        current.closed = True
        try:
            current.executor.submit(connections.close_all).result(timeout=5)
        except Exception:  # a render still running past 5 s: its thread ends on shutdown
            logger.warning("the push thread's connection could not be closed")
        current.executor.shutdown(wait=False, cancel_futures=True)
