"""The incident websocket: push-only. Every write goes through HTTP (forms, CSRF, rules).

Besides the pushed fragments (HTML), the socket carries the state of the live path
as small JSON frames, read by static/js/live.js:

* ``{"live": true, "beat": 10}`` once accepted (``beat``: seconds between frames);
* ``{"live": false}`` when the channel layer stops delivering (Redis is away): the
  socket is open, but nothing pushed reaches it, so the page must not say "Live";
* ``{"live": true, "resync": true}`` when the layer delivers again after an outage
  since this socket joined, however short: pushes may have been lost, so the page
  fetches its panels again;
* the current state every ``beat`` seconds: a page that hears nothing for a while
  knows that its socket is dead even if TCP has not noticed.

The layer is watched once per process for all sockets (``common.layer_watch``), and
an audience's pushes are received once per process and written to its sockets in one
loop (``common.fanout``): a socket has no channel of its own on the layer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch
from django.conf import settings

from common import fanout, layer_watch
from incidents import access, events, metrics

REFUSED = 4403
LAYER_DOWN = 4503  # refused before the handshake completed: the channel layer failed

logger = logging.getLogger(__name__)


@database_sync_to_async
def _audience_for(user: Any, incident_id: int) -> access.Audience | None:
    """The user's audience on the incident, or None: a connect's one database call.

    ``user`` is the session's user, looked up here on first use
    (common.websocket_auth), so a connect makes one trip to the database thread.
    """
    acc = access.access_to(user, incident_id)
    return acc.audience if acc is not None and acc.can_view else None


def _frame(**state: object) -> str:
    return json.dumps(state, separators=(",", ":"))


class IncidentConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]  # channels is untyped
    """Joins its process's fan-out of the user's audience (act / view).

    The fragments were rendered once per audience by the publisher and are received
    once per process (``common.fanout``), so a push costs this socket one write.
    """

    group: str | None = None
    hub: fanout.Hub | None = None  # set once joined
    watch: layer_watch.LayerWatch | None = None  # set once accepted
    generation = 0  # the watch's outage count this page is up to date with
    _telling: asyncio.Task[None] | None = None
    _closing: asyncio.Task[None] | None = None
    # Pushes that arrive between the join and the first frame, sent after it.
    _early: list[dict[str, Any]] | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Channels' consumer loop, less the socket's own channel on the layer.

        Before the handshake completes, a failing layer (Redis away: the first
        socket of an audience in this process subscribes it) refuses the socket with
        one log line; the page retries with its backoff. Once accepted, errors are
        errors.
        """
        self.scope = scope
        self.channel_layer = None  # no channel of its own: pushes come through the hub
        self.base_send = send
        try:
            await await_many_dispatch([receive], self.dispatch)
        except StopConsumer:
            pass
        except layer_watch.LAYER_ERRORS as exc:
            if self.watch is not None:
                raise
            logger.warning("websocket refused, the channel layer failed: %s", exc)
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": LAYER_DOWN})

    async def connect(self) -> None:
        incident_id = int(self.scope["url_route"]["kwargs"]["incident_id"])
        user = self.scope.get("user")
        audience = await _audience_for(user, incident_id) if user is not None else None
        if audience is None:
            await self.close(code=REFUSED)  # before accept(): the handshake is refused
            return
        layer = get_channel_layer()
        self._early = []
        self.group = events.incident_group(incident_id, audience)
        hub = fanout.hub_for(layer, "html")
        await hub.join(self.group, self)
        self.hub = hub
        await self.accept()
        metrics.socket_opened(self)
        self.watch = layer_watch.watch_for(layer)
        self.generation = self.watch.generation
        self.watch.join(self)
        await self.send(
            text_data=_frame(live=self.watch.live, beat=settings.RIPCORD_LIVE_BEAT_SECONDS)
        )
        early, self._early = self._early, None
        for event in early:
            await self.base_send(event)

    async def write(self, event: dict[str, Any]) -> None:
        """From the hub: one push, as an ASGI event shared by the audience's sockets."""
        if self._early is not None:
            self._early.append(event)
            return
        await self.base_send(event)

    def stalled(self) -> None:
        """From the hub: this socket's writes stopped finishing; close it (the page reconnects)."""
        self.hub = None  # already out of its group
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(self._close_stalled())

    async def _close_stalled(self) -> None:
        with contextlib.suppress(Exception):
            await self.close()

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        """As Channels does, less its hop to the database thread: nothing here uses it."""
        await self.disconnect(message["code"])
        raise StopConsumer

    async def disconnect(self, code: int) -> None:
        metrics.socket_closed(self)
        if self.watch is not None:
            await self.watch.leave(self)
        if self._telling is not None:
            self._telling.cancel()
        if self.hub is not None and self.group:
            await self.hub.leave(self.group, self)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Clients do not write here; anything they send is ignored."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Call the client message's handler straight away (pushes come through ``write``).

        Channels' dispatch runs ``close_old_connections`` in a worker thread before
        every handler, for handlers that use the database. None here does outside
        ``_audience_for`` (``database_sync_to_async`` closes old connections itself);
        at connect and disconnect that hop was two of a connect's four trips to the
        single database thread (bench/README.md).
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    def layer_state(self, live: bool, generation: int) -> None:
        """From the layer watch: tell the page, unless the last frame is not out yet.

        A socket whose client reads nothing must not hold up the others, so each
        frame is sent by a task of this socket's own, one at a time.
        """
        if self._telling is not None and not self._telling.done():
            return  # the next beat tells the state as it is then
        state: dict[str, object] = {"live": live}
        if live and generation != self.generation:
            self.generation = generation
            state["resync"] = True
        self._telling = asyncio.get_running_loop().create_task(self._tell(_frame(**state)))

    async def _tell(self, frame: str) -> None:
        try:
            await self.send(text_data=frame)
        except Exception as exc:  # the socket is closing under us
            logger.debug("could not send a live-state frame: %r", exc)
