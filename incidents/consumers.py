"""The incident websocket: push-only. Every write goes through HTTP (forms, CSRF, rules)."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from incidents import access, events, metrics
from incidents.models import Incident

REFUSED = 4403


@database_sync_to_async
def _audience_for(user: Any, incident_id: int) -> access.Audience | None:
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        return None
    acc = access.access_for(user, incident)
    return acc.audience if acc.can_view else None


class IncidentConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]  # channels is untyped
    """Joins the group of the user's audience (act / view) and forwards its fragments.

    The fragments were rendered once per audience by the publisher, so this
    handler only copies bytes: its cost per viewer is one send.
    """

    group: str | None = None

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

    async def disconnect(self, code: int) -> None:
        metrics.socket_closed(self)
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Clients do not write here; anything they send is ignored."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Forward pushes straight to the socket; everything else as Channels does.

        Channels' dispatch runs ``close_old_connections`` in a worker thread before
        every handler, for handlers that use the database. ``incident_html`` does not,
        and that thread hop per socket per push was the largest per-viewer cost of a
        push (bench/README.md). ``connect`` still gets it: its queries go through
        ``database_sync_to_async``, which closes old connections itself.
        """
        if message["type"] == "incident.html":
            await self.incident_html(message)  # type: ignore[arg-type]  # a layer message
        else:
            await super().dispatch(message)

    async def incident_html(self, event: events.HtmlPush) -> None:
        await self.send(text_data=event["html"])
