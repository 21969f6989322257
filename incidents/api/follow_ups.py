"""API: follow-ups (list: mine, overdue, by runbook; an incident's; edit; accept or dismiss).

Same shape as the other routers: resolve the incident (404), ask ``incidents.access``
(403), call one service (refusals 400/409 in ``config.api``).
"""

from __future__ import annotations

from datetime import date, datetime

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError
from pydantic import StrictInt, StrictStr

from common.api import INPUT, READ, UNAUTHORIZED, WRITE, InputSchema, actor
from common.api_auth import api_auth
from incidents import access, followups
from incidents.models import FollowUp
from incidents.services import follow_ups as services

router = Router(auth=api_auth, tags=["follow-ups"])
incident_router = Router(auth=api_auth, tags=["follow-ups"])


class FollowUpOut(Schema):
    id: int
    incident: int
    runbook: str
    key: str
    title: str
    description: str
    owner_role: str
    assignee: str | None
    due_on: date | None
    status: FollowUp.Status
    proposal: FollowUp.Proposal
    origin: str
    link: str
    notes: str
    is_overdue: bool
    updated_at: datetime | None


def follow_up_out(f: FollowUp, today: date) -> FollowUpOut:
    return FollowUpOut(
        id=f.pk,
        incident=f.incident_id,
        runbook=f.incident.runbook_version.runbook.slug,
        key=f.key,
        title=f.title,
        description=f.description,
        owner_role=f.owner_role,
        assignee=f.assignee.get_username() if f.assignee else None,
        due_on=f.due_on,
        status=FollowUp.Status(f.status),
        proposal=FollowUp.Proposal(f.proposal),
        origin=f.origin,
        link=f.link,
        notes=f.notes,
        is_overdue=followups.is_overdue(f, today),
        updated_at=f.updated_at,
    )


class ListQuery(InputSchema):
    mine: bool = False
    overdue: bool = False
    runbook: StrictStr = Field(default="", max_length=63)


class FollowUpIn(InputSchema):
    """Only the fields given change. ``assignee_id`` null unassigns; ``due_on`` null clears."""

    assignee_id: StrictInt | None = None
    due_on: date | None = None
    status: FollowUp.Status | None = None
    link: StrictStr | None = Field(default=None, max_length=500)
    notes: StrictStr | None = Field(default=None, max_length=4000)


class TriageIn(InputSchema):
    assignee_id: StrictInt | None = None


@router.get("", response={200: list[FollowUpOut], **UNAUTHORIZED, 403: READ[403], **INPUT})
def list_follow_ups(request: HttpRequest, filters: Query[ListQuery]) -> list[FollowUpOut]:
    """Follow-ups that are work (the plan's and accepted proposals), soonest due first."""
    access.require(access.can_use_ripcord(request.user), "Your account has no Ripcord role yet.")
    today = timezone.localdate()
    wanted = followups.Filters(mine=filters.mine, overdue=filters.overdue, runbook=filters.runbook)
    return [follow_up_out(f, today) for f in followups.work_items(request.user, wanted, today)]


def _follow_up(
    request: HttpRequest, incident_id: int, follow_up_id: int
) -> tuple[FollowUp, access.IncidentAccess]:
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    follow_up = (
        FollowUp.objects.select_related("assignee", "incident__runbook_version__runbook")
        .filter(pk=follow_up_id, incident=incident)
        .first()
    )
    if follow_up is None:
        raise Http404("No such follow-up")
    return follow_up, acc


def _fresh(follow_up_id: int) -> FollowUpOut:
    f = FollowUp.objects.select_related("assignee", "incident__runbook_version__runbook").get(
        pk=follow_up_id
    )
    return follow_up_out(f, timezone.localdate())


@incident_router.get("/{incident_id}/follow-ups", response={200: list[FollowUpOut], **READ})
def incident_follow_ups(request: HttpRequest, incident_id: int) -> list[FollowUpOut]:
    """The incident's follow-ups, proposals included (dismissed ones left out)."""
    incident, _ = access.get_incident_for_user(request.user, incident_id)
    today = timezone.localdate()
    rows = (
        FollowUp.objects.filter(incident=incident)
        .exclude(proposal=FollowUp.Proposal.DISMISSED)
        .select_related("assignee", "incident__runbook_version__runbook")
        .order_by("position")
    )
    return [follow_up_out(f, today) for f in rows]


@incident_router.post(
    "/{incident_id}/follow-ups/{follow_up_id}", response={200: FollowUpOut, **WRITE, **INPUT}
)
def update_follow_up(
    request: HttpRequest, incident_id: int, follow_up_id: int, payload: FollowUpIn
) -> FollowUpOut:
    """Change a follow-up: the IC, its assignee or a holder of its owner role."""
    follow_up, acc = _follow_up(request, incident_id, follow_up_id)
    access.require(
        access.can_edit_follow_up(
            acc, assignee_id=follow_up.assignee_id, owner_role=follow_up.owner_role
        ),
        "Only the incident commander, the assignee or the owner role edits a follow-up.",
    )
    given = payload.model_dump(exclude_unset=True)
    if "status" in given and given["status"] is None:
        raise HttpError(400, "A follow-up always has a status.")
    changes = {
        ("assignee_id" if k == "assignee_id" else k): (str(v) if k == "status" else v)
        for k, v in given.items()
    }
    for text_field in ("link", "notes"):
        if text_field in changes and changes[text_field] is None:
            changes[text_field] = ""
    services.update_follow_up(follow_up_id=follow_up.pk, by=actor(request), **changes)
    return _fresh(follow_up.pk)


@incident_router.post(
    "/{incident_id}/follow-ups/{follow_up_id}/accept",
    response={200: FollowUpOut, **WRITE, **INPUT},
)
def accept_follow_up(
    request: HttpRequest, incident_id: int, follow_up_id: int, payload: TriageIn
) -> FollowUpOut:
    """Accept a proposed follow-up (the IC), optionally giving it to someone."""
    follow_up, acc = _follow_up(request, incident_id, follow_up_id)
    access.require(access.can_triage_follow_ups(acc), "Only the incident commander triages.")
    services.triage_follow_up(
        follow_up_id=follow_up.pk, by=actor(request), accept=True, assignee_id=payload.assignee_id
    )
    return _fresh(follow_up.pk)


@incident_router.post(
    "/{incident_id}/follow-ups/{follow_up_id}/dismiss", response={200: FollowUpOut, **WRITE}
)
def dismiss_follow_up(request: HttpRequest, incident_id: int, follow_up_id: int) -> FollowUpOut:
    """Dismiss a proposed follow-up (the IC)."""
    follow_up, acc = _follow_up(request, incident_id, follow_up_id)
    access.require(access.can_triage_follow_ups(acc), "Only the incident commander triages.")
    services.triage_follow_up(follow_up_id=follow_up.pk, by=actor(request), accept=False)
    return _fresh(follow_up.pk)
