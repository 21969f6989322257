"""The notice socket, ``/ws/notify/``: one per signed-in page, push-only (common.notify).

It joins the user's own group and one group per capability group the user is in,
and forwards each notice as a JSON frame ``{"kind": ..., "payload": {...}}`` to
``static/js/notify.js``. Anonymous users and outsiders (no capability group) are
refused with 4403 before the handshake completes.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from common import notify
from common.capabilities import can_use_ripcord, user_groups

REFUSED = 4403

logger = logging.getLogger(__name__)


@database_sync_to_async
def _groups_for(user: Any) -> list[str] | None:
    """The channel groups of this user's notices, or None if they may not have any."""
    if user is None or not user.is_authenticated or not can_use_ripcord(user):
        return None
    return [notify.user_group(user.pk)] + [
        notify.capability_group(name) for name in sorted(user_groups(user))
    ]


class NotifyConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]  # channels is untyped
    groups_joined: list[str]

    async def connect(self) -> None:
        self.groups_joined = []
        groups = await _groups_for(self.scope.get("user"))
        if groups is None:
            await self.close(code=REFUSED)
            return
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception as exc:  # Redis away; its subscription goes with it
                logger.warning("could not leave %s: %r", group, exc)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Clients do not write here; anything they send is ignored."""

    async def notify_message(self, event: dict[str, Any]) -> None:
        frame = {"kind": event.get("kind", ""), "payload": event.get("payload", {})}
        await self.send(text_data=json.dumps(frame, separators=(",", ":")))
