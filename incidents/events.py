"""Live-update events: what changed on an incident, and the one pipe to the channel layer.

A leaf of the live path: it knows no templates and imports nothing that renders.
``incidents.broadcast`` renders a ``Change`` once per audience and sends the bytes
through ``group_send`` here; services call ``broadcast.publish``, and the websocket
consumer joins the groups named here. So the arrows run one way: services →
broadcast → events, and consumers → events.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from incidents.access import Audience

AUDIENCES: tuple[Audience, ...] = ("act", "view")


@dataclass
class Change:
    """The parts of one incident a write touched (ids only)."""

    incident_id: int
    steps: set[int] = field(default_factory=set)
    phases: set[int] = field(default_factory=set)
    criteria: bool = False
    safeguards: bool = False

    timeline: set[int] = field(default_factory=set)
    roles: bool = False
    header: bool = False
    # Every open page fetches its panels again (resolving changes every control at once).
    resync: bool = False

    def merge(self, other: Change) -> None:
        """Take in a later change of the same incident (one render for both)."""
        assert other.incident_id == self.incident_id
        self.steps |= other.steps
        self.phases |= other.phases
        self.timeline |= other.timeline
        self.criteria |= other.criteria
        self.safeguards |= other.safeguards
        self.roles |= other.roles
        self.header |= other.header
        self.resync |= other.resync


class HtmlPush(TypedDict):
    type: Literal["incident.html"]  # its "html" is written to each socket by common.fanout
    html: str


def incident_group(incident_id: int, audience: Audience) -> str:
    return f"incident.{incident_id}.{audience}"


def group_send(group: str, message: HtmlPush) -> None:
    """The one place a message leaves for the channel layer (tests record it here)."""
    layer = get_channel_layer()
    assert layer is not None, "CHANNEL_LAYERS is not configured"
    async_to_sync(layer.group_send)(group, dict(message))


async def agroup_send(group: str, message: HtmlPush) -> None:
    """``group_send`` from the server's event loop (the deferred push, incidents.broadcast)."""
    layer = get_channel_layer()
    assert layer is not None, "CHANNEL_LAYERS is not configured"
    await layer.group_send(group, dict(message))


def html_push(html: str) -> HtmlPush:
    return {"type": "incident.html", "html": html}


def frame_text(**state: object) -> str:
    """A JSON frame (static/js/live.js reads it like the consumer's own state frames)."""
    return json.dumps(state, separators=(",", ":"))


def send_html(incident_id: int, audience: Audience, html: str) -> None:
    """Send rendered fragments to every socket of one audience of an incident."""
    group_send(incident_group(incident_id, audience), html_push(html))


def send_frame(incident_id: int, audience: Audience, **frame: object) -> None:
    """A JSON frame (static/js/live.js reads it like the consumer's own state frames),
    e.g. ``resync=True``: fetch every panel again."""
    send_html(incident_id, audience, frame_text(**frame))
