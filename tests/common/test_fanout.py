"""One subscription per group per process (common/fanout.py), on the shared Redis and in memory."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest
from channels.layers import InMemoryChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer

from common import fanout
from tests.flaky_layer import FlakyLayer

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]


class Socket:
    """A member that records what it is sent; ``stuck`` ones never finish a write."""

    def __init__(self, stuck: bool = False) -> None:
        self.stuck = stuck
        self.got: list[str] = []
        self.arrived = asyncio.Event()
        self.stalls = 0

    async def write(self, event: dict[str, Any]) -> None:
        assert event["type"] == "websocket.send"
        if self.stuck:
            await asyncio.Event().wait()
        self.got.append(event["text"])
        self.arrived.set()

    def stalled(self) -> None:
        self.stalls += 1

    async def until(self, count: int) -> list[str]:
        async with asyncio.timeout(5):
            while len(self.got) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.got


async def test_a_group_is_one_channel_whatever_its_sockets_and_each_gets_every_push():
    layer = RedisPubSubChannelLayer(
        hosts=["redis://127.0.0.1:6379/0"], prefix=f"fanout-{secrets.token_hex(4)}"
    )
    hub = fanout.Hub(layer, "html")
    sockets = [Socket() for _ in range(3)]
    try:
        for socket in sockets:
            await hub.join("incident.1.view", socket)
        assert len(layer.channels) == 1  # one Redis subscription for the three
        await layer.group_send("incident.1.view", {"type": "incident.html", "html": "<p>1</p>"})
        await layer.group_send("incident.1.view", {"type": "incident.html", "html": "<p>2</p>"})
        for socket in sockets:
            assert await socket.until(2) == ["<p>1</p>", "<p>2</p>"]
        for socket in sockets:
            await hub.leave("incident.1.view", socket)
        assert layer.channels == {} and hub.groups == {}
    finally:
        await layer.flush()


async def test_the_last_member_to_leave_drops_the_group():
    layer = InMemoryChannelLayer()
    hub = fanout.Hub(layer, "html")
    first, second = Socket(), Socket()
    await hub.join("g", first)
    await hub.join("g", second)
    await hub.leave("g", first)
    assert layer.groups.get("g")
    await layer.group_send("g", {"type": "x", "html": "still here"})
    assert await second.until(1) == ["still here"] and first.got == []
    await hub.leave("g", second)
    assert not layer.groups.get("g") and hub.groups == {}


async def test_a_socket_that_stops_reading_is_dropped_and_holds_up_no_one(monkeypatch):
    monkeypatch.setattr(fanout, "SEND_TIMEOUT", 0.2)
    layer = InMemoryChannelLayer()
    hub = fanout.Hub(layer, "html")
    stuck, reader = Socket(stuck=True), Socket()
    await hub.join("g", stuck)
    await hub.join("g", reader)
    await layer.group_send("g", {"type": "x", "html": "one"})
    await layer.group_send("g", {"type": "x", "html": "two"})
    assert await reader.until(2) == ["one", "two"]
    assert stuck.stalls == 1 and hub.groups["g"].members == {reader}
    await hub.leave("g", stuck)  # its disconnect comes later: nothing to do
    await hub.leave("g", reader)


async def test_a_message_without_its_frame_is_skipped():
    layer = InMemoryChannelLayer()
    hub = fanout.Hub(layer, "html")
    socket = Socket()
    await hub.join("g", socket)
    await layer.group_send("g", {"type": "x", "html": None})
    await layer.group_send("g", {"type": "x", "html": "next"})
    assert await socket.until(1) == ["next"]
    await hub.leave("g", socket)


async def test_a_failed_subscribe_fails_every_joiner_and_the_next_join_tries_again():
    layer = FlakyLayer()
    layer.down = True
    hub = fanout.Hub(layer, "html")
    first, second = Socket(), Socket()
    results = await asyncio.gather(
        hub.join("g", first), hub.join("g", second), return_exceptions=True
    )
    assert [type(r) for r in results] == [ConnectionError, ConnectionError]
    assert hub.groups == {}
    layer.down = False
    await hub.join("g", second)
    await layer.group_send("g", {"type": "x", "html": "back"})
    assert await second.until(1) == ["back"] and first.got == []
    await hub.leave("g", second)


async def test_each_event_loop_has_its_own_hub():
    layer = InMemoryChannelLayer()
    hub = fanout.hub_for(layer, "html")
    assert fanout.hub_for(layer, "html") is hub
    other = fanout.hub_for(InMemoryChannelLayer(), "html")  # another layer, a hub of its own
    assert other is not hub
    fanout._forget(other)
