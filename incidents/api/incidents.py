"""API: incidents, their roles, steps and timeline.

Each endpoint resolves the incident through ``access.get_incident_for_user``
(404 for people who may not see it), checks the same ``IncidentAccess`` rule
the page's control uses (403), and calls one service. Refusals by the domain
(``services.ServiceError``) become 409/400 in ``config.api``.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Status
from ninja.errors import HttpError
from ninja.params import functions as params

from common.api import INPUT, READ, UNAUTHORIZED, WRITE, InputSchema, actor
from common.api_auth import api_auth
from incidents import access, selectors, services
from incidents.api.schemas import (
    AssignmentOut,
    AssignRoleIn,
    IncidentOut,
    IncidentSummaryOut,
    NoteIn,
    OpenIncidentIn,
    SkipIn,
    StepOut,
    TimelineEntryOut,
    TimelinePageOut,
    assignment_out,
    incident_summary_fields,
    phase_out,
    role_out,
    step_out,
    timeline_entry_out,
)
from incidents.models import Incident, TimelineEntry
from incidents.services.opening import OPEN_KEY_MAX_LENGTH, open_incident_once
from runbooks.selectors import latest_version

router = Router(auth=api_auth, tags=["incidents"])


def _incident_out(incident: Incident, acc: access.IncidentAccess) -> IncidentOut:
    phases = selectors.phase_views(incident)
    progress = selectors.Progress(
        sum(pv.progress.settled for pv in phases), sum(pv.progress.total for pv in phases)
    )
    with_command = acc.can_see_logs
    return IncidentOut(
        **incident_summary_fields(incident, progress),
        phases=[phase_out(pv, with_command=with_command) for pv in phases],
        roles=[role_out(role) for role in selectors.roles_with_holders(incident)],
    )


# --- incidents --------------------------------------------------------------


# The API's Idempotency-Key header: scoped to the caller, like the form's hidden token.
IDEMPOTENCY_KEY = params.Header(
    "",
    alias="Idempotency-Key",
    max_length=OPEN_KEY_MAX_LENGTH,
    pattern=r"^[\x21-\x7e]*$",
    description="Optional. A retry with the same key (yours, up to 64 printable ASCII "
    "characters) opens nothing new: it answers 200 with the incident the key opened, "
    "or 409 if that incident was opened with other details.",
)


@router.post("", response={200: IncidentOut, 201: IncidentOut, **WRITE, **INPUT})
def open_incident(
    request: HttpRequest,
    payload: OpenIncidentIn,
    idempotency_key: str = IDEMPOTENCY_KEY,
) -> Status[IncidentOut]:
    """Open an incident from the latest version of a runbook; you become its commander."""
    access.require(access.can_open_incident(request.user), "Only commanders may open incidents.")
    version = latest_version(payload.runbook)
    if version is None:
        raise HttpError(400, f"No runbook {payload.runbook!r} is loaded.")
    user = actor(request)
    incident, opened = open_incident_once(
        version=version,
        environment=payload.environment,
        title=payload.title,
        severity=payload.severity,
        is_drill=payload.is_drill,
        opened_by=user,
        open_key=idempotency_key,
        confirm_environment=payload.confirm_environment,
        parameters=payload.parameters,
    )
    if not opened and (
        incident.runbook_version.runbook.slug,
        incident.environment,
        incident.title,
        incident.severity,
        incident.is_drill,
    ) != (
        payload.runbook,
        payload.environment,
        payload.title.strip(),
        payload.severity,
        payload.is_drill,
    ):
        raise HttpError(
            409, f"This Idempotency-Key opened incident #{incident.pk} with other details."
        )
    return Status(
        201 if opened else 200, _incident_out(incident, access.access_for(user, incident))
    )


@router.get("", response={200: list[IncidentSummaryOut], **UNAUTHORIZED})
def list_incidents(request: HttpRequest) -> list[IncidentSummaryOut]:
    """Incidents you may see: active ones first, then newest first."""
    return [
        IncidentSummaryOut(
            **incident_summary_fields(
                incident,
                selectors.Progress(incident.steps_settled, incident.steps_total),  # type: ignore[attr-defined]
            )
        )
        for incident in selectors.incidents_visible_to(request.user)
    ]


@router.get("/{incident_id}", response={200: IncidentOut, **READ})
def get_incident(request: HttpRequest, incident_id: int) -> IncidentOut:
    """Header, phases with their steps, roles with their holders."""
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    return _incident_out(incident, acc)


# --- roles ------------------------------------------------------------------


@router.post("/{incident_id}/roles", response={200: AssignmentOut, **WRITE, **INPUT})
def assign_role(request: HttpRequest, incident_id: int, payload: AssignRoleIn) -> AssignmentOut:
    """Put a person on a role (idempotent). Assigning incident_commander hands over."""
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    access.require(acc.can_manage, "Only the incident commander assigns roles.")
    user_id = payload.user_id
    if user_id is None:  # AssignRoleIn guarantees a username then
        user_model = get_user_model()
        user_id = (
            user_model.objects.filter(**{user_model.USERNAME_FIELD: payload.username})
            .values_list("pk", flat=True)
            .first()
        )
        if user_id is None:
            raise HttpError(400, "No such active user.")
    assignment = services.assign_role(
        incident_id=incident.pk, role_key=payload.role, user_id=user_id, by=actor(request)
    )
    return assignment_out(assignment, payload.role)


@router.delete("/{incident_id}/roles/{assignment_id}", response={204: None, **WRITE})
def unassign_role(request: HttpRequest, incident_id: int, assignment_id: int) -> Status[None]:
    """Take a person off a role (the commander role is handed over instead)."""
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    access.require(acc.can_manage, "Only the incident commander assigns roles.")
    services.unassign_role(incident_id=incident.pk, assignment_id=assignment_id, by=actor(request))
    return Status(204, None)


# --- steps ------------------------------------------------------------------


STEP = "/{incident_id}/steps/{step_id}"


@router.post(f"{STEP}/complete", response={200: StepOut, **WRITE})
def complete_step(request: HttpRequest, incident_id: int, step_id: int) -> StepOut:
    """Tick a manual step done."""
    step, acc = access.get_step_for_user(request.user, incident_id, step_id)
    done = services.complete_step(step_id=step.pk, by=actor(request))
    return step_out(done, with_command=acc.can_see_logs)


@router.post(f"{STEP}/skip", response={200: StepOut, **WRITE, **INPUT})
def skip_step(request: HttpRequest, incident_id: int, step_id: int, payload: SkipIn) -> StepOut:
    """Skip a step, saying why.

    Refused (409) while the step has a run under way, and (400) for anyone but the
    IC once a validation step's checks failed: the IC's skip overrides them.
    """
    step, acc = access.get_step_for_user(request.user, incident_id, step_id)
    skipped = services.skip_step(step_id=step.pk, by=actor(request), reason=payload.reason)
    return step_out(skipped, with_command=acc.can_see_logs)


@router.post(f"{STEP}/reopen", response={200: StepOut, **WRITE})
def reopen_step(request: HttpRequest, incident_id: int, step_id: int) -> StepOut:
    """Undo a tick or a skip."""
    step, acc = access.get_step_for_user(request.user, incident_id, step_id)
    reopened = services.reopen_step(step_id=step.pk, by=actor(request))
    return step_out(reopened, with_command=acc.can_see_logs)


# --- timeline ---------------------------------------------------------------


class TimelineQuery(InputSchema):
    limit: int = Field(50, ge=1, le=500)
    before_id: int | None = Field(None, description="Only entries older than this one.")


@router.get("/{incident_id}/timeline", response={200: TimelinePageOut, **READ, **INPUT})
def get_timeline(
    request: HttpRequest, incident_id: int, query: Query[TimelineQuery]
) -> TimelinePageOut:
    """The incident's record, newest first, a page at a time."""
    incident, _ = access.get_incident_for_user(request.user, incident_id)
    try:
        entries = selectors.timeline_before(
            incident, limit=query.limit + 1, before_id=query.before_id
        )
    except TimelineEntry.DoesNotExist:
        raise Http404("No such timeline entry on this incident.") from None
    page = entries[: query.limit]
    has_more = len(entries) > query.limit
    return TimelinePageOut(
        entries=[timeline_entry_out(e) for e in page],
        next_before_id=page[-1].pk if has_more else None,
    )


@router.post("/{incident_id}/timeline", response={201: TimelineEntryOut, **WRITE, **INPUT})
def add_note(request: HttpRequest, incident_id: int, payload: NoteIn) -> Status[TimelineEntryOut]:
    """Write a note on the timeline."""
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    access.require(acc.can_add_note, "Viewers cannot write on the timeline.")
    entry = services.add_note(incident_id=incident.pk, author=actor(request), text=payload.text)
    return Status(201, timeline_entry_out(entry))
