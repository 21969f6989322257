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

The layer is watched once per process for all sockets (``common.layer_watch``).
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
from django.conf import settings

from common import layer_watch
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
    """Joins the group of the user's audience (act / view) and forwards its fragments.

    The fragments were rendered once per audience by the publisher, so this
    handler only copies bytes: its cost per viewer is one send.
    """

    group: str | None = None
    watch: layer_watch.LayerWatch | None = None  # set once accepted
    generation = 0  # the watch's outage count this page is up to date with
    _telling: asyncio.Task[None] | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Refuse, with one log line, a socket the channel layer cannot serve.

        Before the handshake completes, a failing layer (Redis away: Channels
        subscribes the consumer's channel before ``connect``) refuses the socket;
        the page retries with its backoff. Once accepted, errors are errors.
        """
        try:
            await super().__call__(scope, receive, send)
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
        self.group = events.incident_group(incident_id, audience)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        metrics.socket_opened(self)
        self.watch = layer_watch.watch_for(self.channel_layer)
        self.generation = self.watch.generation
        self.watch.join(self)
        await self.send(
            text_data=_frame(live=self.watch.live, beat=settings.RIPCORD_LIVE_BEAT_SECONDS)
        )

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
        if self.group:
            try:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            except layer_watch.LAYER_ERRORS as exc:  # Redis away; its subscription goes with it
                logger.warning("could not leave %s: %s", self.group, exc)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Clients do not write here; anything they send is ignored."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Call the message's handler straight away.

        Channels' dispatch runs ``close_old_connections`` in a worker thread before
        every handler, for handlers that use the database. None here does outside
        ``_audience_for`` (``database_sync_to_async`` closes old connections itself),
        and that thread hop per socket per push was the largest per-viewer cost of a
        push (bench/README.md); at connect and disconnect it was two of a connect's
        four trips to the single database thread.
        """
        if message["type"] == "incident.html":
            await self.incident_html(message)  # type: ignore[arg-type]  # a layer message
            return
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def incident_html(self, event: events.HtmlPush) -> None:
        await self.send(text_data=event["html"])

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
