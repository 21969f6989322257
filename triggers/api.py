"""API: alert receivers and proposed rollbacks (commanders; /api/v1/receivers, /api/v1/proposals),
and rule evaluations (/api/v1/runbooks/{slug}/evaluations, whoever may see runbooks)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field

from common.api import INPUT, READ, WRITE, InputSchema, actor
from common.api_auth import api_auth
from common.capabilities import can_open_incident, can_use_ripcord
from incidents import access
from runbooks.models import Runbook
from triggers import selectors, services
from triggers.models import Alert, Proposal, Receiver

router = Router(auth=api_auth, tags=["triggers"])

COMMANDERS_ONLY = "Only commanders may see or manage receivers and proposals."


class ReceiverIn(InputSchema):
    kind: Receiver.Kind
    runbook: str = Field(min_length=1, max_length=63)
    environment: str = Field(min_length=1, max_length=63)
    name: str = Field(default="", max_length=200)
    secret: str | None = Field(default=None, max_length=500)


class ReceiverOut(Schema):
    id: int
    kind: str
    name: str
    runbook: str
    environment: str
    path: str
    hint: str
    created_at: datetime
    is_active: bool


class ReceiverCreatedOut(ReceiverOut):
    credential: str  # shown once: the bearer token, or PagerDuty's signing secret


class AlertOut(Schema):
    id: int
    alertname: str
    status: str
    trigger: str
    value: str
    labels: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None
    source_url: str
    received_at: datetime


class ProposalOut(Schema):
    id: int
    runbook: str
    environment: str
    status: str
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decline_reason: str
    incident: int | None
    alerts: list[AlertOut]


class EvaluationOut(Schema):
    id: int
    trigger: str
    environment: str
    mode: str
    evaluated_at: datetime
    outcome: str  # fire, pending, quiet, inconclusive
    reason: str
    query: str
    value: float | None
    comparison: str
    threshold: float
    samples: float | None
    min_samples: int
    window: str
    streak: int
    needed: int
    alert: int | None


class DeclineIn(InputSchema):
    reason: str = Field(min_length=1, max_length=2000)


def _receiver_out(r: Receiver) -> dict[str, Any]:
    return {
        "id": r.pk,
        "kind": r.kind,
        "name": r.name,
        "runbook": r.runbook.slug,
        "environment": r.environment,
        "path": f"/hooks/{r.hook_id}/",
        "hint": r.hint,
        "created_at": r.created_at,
        "is_active": r.is_active,
    }


def _alert_out(a: Alert) -> AlertOut:
    return AlertOut(
        id=a.pk,
        alertname=a.alertname,
        status=a.status,
        trigger=a.trigger_key,
        value=a.value,
        labels=a.labels,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        source_url=a.source_url,
        received_at=a.received_at,
    )


def _proposal_out(p: Proposal) -> ProposalOut:
    return ProposalOut(
        id=p.pk,
        runbook=p.runbook.slug,
        environment=p.environment,
        status=p.status,
        created_at=p.created_at,
        decided_at=p.decided_at,
        decided_by=p.decided_by.get_username() if p.decided_by else None,
        decline_reason=p.decline_reason,
        incident=p.incident_id,
        alerts=[_alert_out(a) for a in p.alerts.all()],
    )


def _commander(request: HttpRequest) -> None:
    access.require(can_open_incident(request.user), COMMANDERS_ONLY)


def _existing(proposal_id: int) -> Proposal:
    found = selectors.proposal(proposal_id)
    if found is None:
        raise Http404("No such proposal")
    return found


@router.get("/receivers", response={200: list[ReceiverOut], **READ})
def list_receivers(request: HttpRequest) -> list[dict[str, Any]]:
    """Receivers (never their credentials: only the first characters)."""
    _commander(request)
    return [_receiver_out(r) for r in selectors.receivers()]


@router.post("/receivers", response={201: ReceiverCreatedOut, **WRITE, **INPUT})
def create_receiver(request: HttpRequest, payload: ReceiverIn) -> Status[dict[str, Any]]:
    """A new receiver; the answer holds its credential, the only time it is shown."""
    _commander(request)
    runbook = Runbook.objects.filter(slug=payload.runbook).first()
    if runbook is None:
        raise HttpError(400, f"No runbook {payload.runbook!r} is loaded.")
    receiver, credential = services.create_receiver(
        kind=payload.kind,
        runbook=runbook,
        environment=payload.environment,
        created_by=actor(request),
        secret=payload.secret,
        name=payload.name,
    )
    return Status(201, {**_receiver_out(receiver), "credential": credential})


@router.get("/proposals", response={200: list[ProposalOut], **READ})
def list_proposals(request: HttpRequest) -> list[ProposalOut]:
    """Proposed rollbacks, newest first, with the alerts that made them."""
    _commander(request)
    return [_proposal_out(p) for p in selectors.proposals()]


@router.post("/proposals/{proposal_id}/open", response={201: ProposalOut, **WRITE})
def open_proposal(request: HttpRequest, proposal_id: int) -> Status[ProposalOut]:
    """Open the incident the proposal proposes (you become its commander)."""
    _commander(request)
    _existing(proposal_id)
    services.open_from_proposal(proposal_id=proposal_id, by=actor(request))
    return Status(201, _proposal_out(_existing(proposal_id)))


@router.post("/proposals/{proposal_id}/decline", response={200: ProposalOut, **WRITE, **INPUT})
def decline_proposal(request: HttpRequest, proposal_id: int, payload: DeclineIn) -> ProposalOut:
    """Decline, with the reason on the record."""
    _commander(request)
    _existing(proposal_id)
    services.decline_proposal(proposal_id=proposal_id, by=actor(request), reason=payload.reason)
    return _proposal_out(_existing(proposal_id))


@router.get("/runbooks/{slug}/evaluations", response={200: list[EvaluationOut], **READ})
def list_evaluations(request: HttpRequest, slug: str) -> list[EvaluationOut]:
    """Each rule's last five evaluations per environment (whoever may see runbooks)."""
    access.require(can_use_ripcord(request.user), "You may not see runbooks.")
    if not Runbook.objects.filter(slug=slug).exists():
        raise Http404("No such runbook")
    return [
        EvaluationOut(
            id=e.pk,
            trigger=e.trigger_key,
            environment=e.environment,
            mode=e.mode,
            evaluated_at=e.evaluated_at,
            outcome=e.outcome,
            reason=e.reason,
            query=e.query,
            value=e.value,
            comparison=e.comparison,
            threshold=e.threshold,
            samples=e.samples,
            min_samples=e.min_samples,
            window=e.window,
            streak=e.streak,
            needed=e.needed,
            alert=e.alert_id,
        )
        for rows in selectors.recent_evaluations(slug).values()
        for e in rows
    ]
