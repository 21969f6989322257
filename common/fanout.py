"""One subscription per group per process: a group's push is received once and written to its sockets in one loop.

Channels gives every socket a channel of its own on the layer: with the Redis pub/sub
layer, a SUBSCRIBE at every connect and an UNSUBSCRIBE at every close, and for every
group push one queue put, one msgpack decode and one task wake-up per socket before
the socket's own handler sends the bytes. For pushes that every socket of a group gets
unchanged (an incident's rendered fragments) that per-socket work was most of a push's
cost at 500 viewers (bench/README.md, "fanout.py").

Here the process subscribes one channel per group, the first time one of its sockets
joins the group, and one task reads it: each message is decoded once and its frame
written to every member in turn, with one ASGI event shared by all. The last member to
leave drops the subscription. A member whose write does not finish within
``SEND_TIMEOUT`` (a client that stopped reading while its buffers filled) is dropped from
the group and told so (``Member.stalled``), so it cannot hold up the others.

A join that cannot subscribe (the layer is down) raises to its caller, as Channels'
own ``group_add`` would; members that joined meanwhile raise with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

logger = logging.getLogger(__name__)

SEND_TIMEOUT = 2.0  # seconds one member's write may take before it is dropped


class Member(Protocol):
    async def write(self, event: dict[str, Any]) -> None:
        """Send one ASGI event (``websocket.send``) to this member's client."""

    def stalled(self) -> None:
        """Dropped from its group: its writes stopped finishing. Must return at once."""


@dataclass(eq=False)
class _Group:
    name: str
    members: set[Member] = field(default_factory=set)
    subscribed: asyncio.Future[None] | None = None
    channel: str | None = None
    reader: asyncio.Task[None] | None = None


class Hub:
    """One event loop's groups over one channel layer."""

    def __init__(self, layer: Any, frame_key: str) -> None:
        self.layer = layer
        self.frame_key = frame_key  # the message's key that holds the text frame
        self.groups: dict[str, _Group] = {}

    async def join(self, name: str, member: Member) -> None:
        """Add ``member`` to group ``name``, subscribing the group first if it is new here."""
        group = self.groups.get(name)
        if group is None:
            group = _Group(name, subscribed=asyncio.get_running_loop().create_future())
            self.groups[name] = group
            group.members.add(member)
            await self._subscribe(group)
            return
        group.members.add(member)
        assert group.subscribed is not None
        try:
            await asyncio.shield(group.subscribed)
        except BaseException:
            group.members.discard(member)
            raise

    async def _subscribe(self, group: _Group) -> None:
        assert group.subscribed is not None
        try:
            channel = await self.layer.new_channel("fanout.")
            await self.layer.group_add(group.name, channel)
        except BaseException as exc:
            if self.groups.get(group.name) is group:
                del self.groups[group.name]
                if not self.groups:
                    _forget(self)
            group.members.clear()
            group.subscribed.set_exception(exc)
            group.subscribed.exception()  # retrieved: the joiners that wait re-raise it
            raise
        group.channel = channel
        group.reader = asyncio.get_running_loop().create_task(self._read(group))
        group.subscribed.set_result(None)

    async def leave(self, name: str, member: Member) -> None:
        """Remove ``member``; the group's last member drops its subscription."""
        group = self.groups.get(name)
        if group is None or member not in group.members:
            return
        group.members.discard(member)
        if group.members:
            return
        del self.groups[name]
        if not self.groups:
            _forget(self)
        await self._unsubscribe(group)

    async def _unsubscribe(self, group: _Group) -> None:
        if group.reader is not None:
            group.reader.cancel()  # the layer unsubscribes a channel whose receive is cancelled
            with contextlib.suppress(asyncio.CancelledError):
                await group.reader
        if group.channel is not None:
            try:
                await self.layer.group_discard(group.name, group.channel)
            except Exception as exc:  # Redis away: its subscription went with the connection
                logger.warning("could not leave %s: %r", group.name, exc)

    async def _read(self, group: _Group) -> None:
        assert group.channel is not None
        while True:
            message = await self.layer.receive(group.channel)
            text = message.get(self.frame_key)
            if not isinstance(text, str):
                logger.warning("ignored a message without %r on %s", self.frame_key, group.name)
                continue
            await self._deliver(group, {"type": "websocket.send", "text": text})

    async def _deliver(self, group: _Group, event: dict[str, Any]) -> None:
        for member in tuple(group.members):
            try:
                async with asyncio.timeout(SEND_TIMEOUT):
                    await member.write(event)
            except TimeoutError:
                logger.warning(
                    "dropped a socket of %s: a write took over %s s", group.name, SEND_TIMEOUT
                )
                group.members.discard(member)
                member.stalled()
            except Exception as exc:  # closing under us: its disconnect removes it
                logger.debug("could not write to a socket of %s: %r", group.name, exc)


_HUBS: dict[tuple[asyncio.AbstractEventLoop, str], Hub] = {}


def _forget(hub: Hub) -> None:
    """Drop an empty hub (tests run many event loops; a server's loop keeps one)."""
    for key, known in list(_HUBS.items()):
        if known is hub:
            del _HUBS[key]


def hub_for(layer: Any, frame_key: str) -> Hub:
    """The running loop's hub over ``layer`` for messages whose frame is ``frame_key``."""
    loop = asyncio.get_running_loop()
    hub = _HUBS.get((loop, frame_key))
    if hub is None or hub.layer is not layer:
        hub = Hub(layer, frame_key)
        _HUBS[(loop, frame_key)] = hub
    return hub
