"""Live-update events: what changed on an incident, announced after the write commits.

Services call ``publish`` inside their transaction; nothing is sent unless the
transaction commits (no ghost updates after a rollback). On commit the change is
rendered once per audience (``incidents.broadcast``) and those bytes are sent to
the audience's group, so the cost does not grow with viewers x renders
(shared/PERFORMANCE.md, lesson 2). The database stays the truth: events are hints,
and a (re)connecting page fetches its panels again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

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


class HtmlPush(TypedDict):
    type: Literal["incident.html"]  # handled by IncidentConsumer.incident_html
    html: str


def incident_group(incident_id: int, audience: Audience) -> str:
    return f"incident.{incident_id}.{audience}"


def group_send(group: str, message: HtmlPush) -> None:
    """The one place a message leaves for the channel layer (tests record it here)."""
    layer = get_channel_layer()
    assert layer is not None, "CHANNEL_LAYERS is not configured"
    async_to_sync(layer.group_send)(group, dict(message))


def send_change(change: Change) -> None:
    from incidents import broadcast  # renders templates; imported late to keep this module light

    for audience, html in broadcast.render_change(change).items():
        if html:
            group_send(
                incident_group(change.incident_id, audience),
                {"type": "incident.html", "html": html},
            )


def publish(change: Change) -> None:
    """Announce ``change`` once the surrounding transaction commits."""
    transaction.on_commit(lambda: send_change(change), robust=True)
