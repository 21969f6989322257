"""An in-memory channel layer with switches, for the live-state tests (no Redis to stop).

``down``: every send and new channel fails, as with Redis refusing connections.
``lossy``: sends succeed but never arrive, as when a subscriber is away from Redis.
Group sends are left alone: the switches act on what the layer watch uses.
"""

from __future__ import annotations

from typing import Any

from channels.layers import InMemoryChannelLayer


class FlakyLayer(InMemoryChannelLayer):  # type: ignore[misc]  # channels is untyped
    down = False
    lossy = False

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        if self.down:
            raise ConnectionError("the layer is down")
        if not self.lossy:
            await super().send(channel, message)

    async def new_channel(self, prefix: str = "specific.") -> str:
        if self.down:
            raise ConnectionError("the layer is down")
        return str(await super().new_channel(prefix))
