"""API: communications drafts, sends and deliveries — the same rules and services as the page.

Anyone who may view the incident reads them (deliveries name destinations by their
title, never an address); sending is for the item's owner role (403 otherwise).
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from common.api import INPUT, READ, WRITE, InputSchema, actor
from common.api_auth import api_auth
from comms import cadence, drafts, services
from comms.models import Delivery, Send
from incidents import access

router = Router(auth=api_auth, tags=["communications"])


class DraftOut(Schema):
    key: str
    item: str
    phase: str
    audience: str
    owner: str
    automatic: bool
    body: str
    destinations: list[str]


class ClockOut(Schema):
    audience: str
    every_minutes: int
    last_sent_at: datetime | None
    due_at: datetime
    overdue: bool


class DraftsOut(Schema):
    drafts: list[DraftOut]
    cadence: list[ClockOut]


class DeliveryOut(Schema):
    id: int
    send: int
    destination: str
    kind: str
    label: str
    state: str
    attempts: int
    reason: str
    idempotency_key: str
    updated_at: datetime
    delivered_at: datetime | None


class SendOut(Schema):
    id: int
    item: str
    phase: str
    audience: str
    body: str
    sent_by: str | None
    automatic: bool
    sent_at: datetime
    deliveries: list[DeliveryOut]


class SendIn(InputSchema):
    item: str = Field(max_length=63)
    phase: str = Field(default="", max_length=63)
    body: str | None = Field(default=None, max_length=services.BODY_MAX_LENGTH)


def delivery_out(d: Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.pk,
        send=d.send_id,
        destination=d.destination,
        kind=d.kind,
        label=d.label,
        state=d.state,
        attempts=d.attempts,
        reason=d.reason,
        idempotency_key=str(d.idempotency_key),
        updated_at=d.updated_at,
        delivered_at=d.delivered_at,
    )


def send_out(s: Send) -> SendOut:
    return SendOut(
        id=s.pk,
        item=s.item,
        phase=s.phase,
        audience=s.audience,
        body=s.body,
        sent_by=s.sent_by.get_username() if s.sent_by else None,
        automatic=s.automatic,
        sent_at=s.sent_at,
        deliveries=[delivery_out(d) for d in s.deliveries.all()],
    )


@router.get("/{incident_id}/comms/drafts", response={200: DraftsOut, **READ})
def list_drafts(request: HttpRequest, incident_id: int) -> DraftsOut:
    """Every draft the live state gives now (each item, each of its started phases), and
    when each audience's next update is due."""
    incident, _ = access.get_incident_for_user(request.user, incident_id)
    spec = incident.runbook_version.parsed()
    now = timezone.now()
    clocks = cadence.clocks(incident, spec, now)
    found = (
        drafts.drafts(drafts.live_state(incident, spec, now), clocks) if incident.is_active else []
    )
    return DraftsOut(
        drafts=[
            DraftOut(
                key=d.key,
                item=d.item.id,
                phase=d.phase_key,
                audience=d.item.audience,
                owner=d.item.owner,
                automatic=d.item.automatic,
                body=d.body,
                destinations=[x.label for x in d.destinations],
            )
            for d in found
        ],
        cadence=[
            ClockOut(
                audience=c.audience,
                every_minutes=c.every_minutes,
                last_sent_at=c.last_sent_at,
                due_at=c.due_at,
                overdue=c.overdue,
            )
            for c in clocks
        ],
    )


@router.get("/{incident_id}/comms/sends", response={200: list[SendOut], **READ})
def list_sends(request: HttpRequest, incident_id: int) -> list[SendOut]:
    """What was sent, newest first, with each delivery's state."""
    incident, _ = access.get_incident_for_user(request.user, incident_id)
    sends = (
        Send.objects.filter(incident=incident)
        .select_related("sent_by")
        .prefetch_related("deliveries")
    )
    return [send_out(s) for s in sends[:500]]


@router.post("/{incident_id}/comms/sends", response={201: SendOut, **WRITE, **INPUT})
def create_send(request: HttpRequest, incident_id: int, payload: SendIn) -> Status[SendOut]:
    """Send one item (its draft, or ``body``) to all of its destinations; the item's owner role only."""
    incident, _ = access.get_incident_for_user(request.user, incident_id)
    send = services.send_item(
        incident_id=incident.pk,
        user=actor(request),
        item_key=payload.item,
        phase_key=payload.phase,
        body=payload.body,
    )
    send = Send.objects.select_related("sent_by").prefetch_related("deliveries").get(pk=send.pk)
    return Status(201, send_out(send))


@router.get("/{incident_id}/comms/deliveries", response={200: list[DeliveryOut], **READ})
def list_deliveries(request: HttpRequest, incident_id: int) -> list[DeliveryOut]:
    """Every delivery of the incident, oldest first."""
    incident, _ = access.get_incident_for_user(request.user, incident_id)
    return [delivery_out(d) for d in Delivery.objects.filter(incident=incident)[:2000]]
