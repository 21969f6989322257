"""Is the channel layer delivering? One watch per event loop, shared by that loop's sockets.

A page gets its pushes only through the channel layer (Redis pub/sub in production).
When Redis restarts or the network between drops, the browser's socket to the ASGI
server stays open while every push meanwhile is lost, and the page would go on saying
"Live" over stale state. So while any socket is open, the watch sends a message to
itself through the layer every ``RIPCORD_LIVE_CHECK_MS`` and waits for it to come
back: a send that fails, or a message that is not back within ``CHECK_TIMEOUT``, means
the layer is down (it is the same Redis connection and reader every group push uses).

The watch tells its listeners (``incidents.consumers``) when the layer goes down and
when it is back, and every ``RIPCORD_LIVE_BEAT_SECONDS`` in between (the page's
heartbeat). It counts the outages in ``generation``: a socket that sees the count
change knows that pushes may have been lost since it joined, however short the outage
was. Short ones are seen too: once channels_redis's reader has lost its connection it
tries again only a second later, so a subscriber is away for over a second, longer
than the default time between two checks (500 ms), and a check sent in that time is
lost or fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

from django.conf import settings
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What a channel layer raises when its backend is away: refused, reset, timed out.
LAYER_ERRORS: tuple[type[Exception], ...] = (OSError, TimeoutError, RedisError)
CHECK_TIMEOUT = 3.0  # seconds for a check's send and its return together
# While the layer is down a check waits less: one lost then only keeps the state as it
# is, and the pages hear sooner that the layer is back.
RECOVERY_TIMEOUT = 1.0
CHECK_TYPE = "layer.check"


class Listener(Protocol):
    def layer_state(self, live: bool, generation: int) -> None:
        """The layer's state, on every change and every beat. Must return at once."""


class LayerWatch:
    def __init__(self, layer: Any, *, check_every: float, beat_every: float) -> None:
        self.layer = layer
        self.check_every = check_every
        self.beat_every = beat_every
        self.live = True  # a socket joins after its own group_add went through
        self.generation = 0  # outages seen so far
        self.listeners: set[Listener] = set()
        self._task: asyncio.Task[None] | None = None
        self._channel: str | None = None
        self._reader: asyncio.Task[None] | None = None
        self._sent = 0
        self._returned = 0
        self._arrived = asyncio.Event()

    def join(self, listener: Listener) -> None:
        self.listeners.add(listener)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def leave(self, listener: Listener) -> None:
        """Forget a listener; the last one to leave stops the checks (and waits for them)."""
        self.listeners.discard(listener)
        if self.listeners or self._task is None:
            return
        task, self._task = self._task, None
        if _WATCHES.get(asyncio.get_running_loop()) is self:
            del _WATCHES[asyncio.get_running_loop()]
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_beat = loop.time() + self.beat_every
        try:
            while True:
                started = loop.time()
                live = await self._check()
                changed = live != self.live
                if changed:
                    self.live = live
                    if live:
                        logger.warning("channel layer delivers again: pages re-sync")
                    else:
                        self.generation += 1
                        logger.warning("channel layer down: pages are told they are not live")
                if changed or started >= next_beat:
                    next_beat = started + self.beat_every
                    for listener in list(self.listeners):
                        listener.layer_state(self.live, self.generation)
                await asyncio.sleep(max(0.0, started + self.check_every - loop.time()))
        finally:
            if self._reader is not None:
                self._reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._reader

    async def _check(self) -> bool:
        """Send a numbered message to our own channel and wait until it is back."""
        self._sent += 1
        number = self._sent
        try:
            async with asyncio.timeout(CHECK_TIMEOUT if self.live else RECOVERY_TIMEOUT):
                if self._channel is None:
                    self._channel = await self.layer.new_channel("layer-check.")
                    self._reader = asyncio.get_running_loop().create_task(self._read(self._channel))
                await self.layer.send(self._channel, {"type": CHECK_TYPE, "n": number})
                while self._returned < number:
                    self._arrived.clear()
                    await self._arrived.wait()
        except LAYER_ERRORS as exc:  # TimeoutError too: sent into a gap, or a hung send
            logger.debug("channel layer check %d failed: %r", number, exc)
            return False
        return True

    async def _read(self, channel: str) -> None:
        while True:
            try:
                message = await self.layer.receive(channel)
            except LAYER_ERRORS as exc:
                logger.debug("channel layer check reader: %r", exc)
                await asyncio.sleep(self.check_every)
                continue
            self._returned = max(self._returned, int(message.get("n", 0)))
            self._arrived.set()


_WATCHES: dict[asyncio.AbstractEventLoop, LayerWatch] = {}


def watch_for(layer: Any) -> LayerWatch:
    """The running loop's watch over ``layer`` (one channel layer per process)."""
    loop = asyncio.get_running_loop()
    watch = _WATCHES.get(loop)
    if watch is None or watch.layer is not layer:
        watch = LayerWatch(
            layer,
            check_every=settings.RIPCORD_LIVE_CHECK_MS / 1000,
            beat_every=float(settings.RIPCORD_LIVE_BEAT_SECONDS),
        )
        _WATCHES[loop] = watch
    return watch
