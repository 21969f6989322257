"""API: a step's safeguard gate, confirming a manual safeguard, running over held safeguards.

Same shape as the other routers: resolve the incident (404), ask ``incidents.access``
(403), call one service (refusals 400/409 in ``config.api``).
"""

from __future__ import annotations

from datetime import datetime

from django.http import Http404, HttpRequest
from ninja import Field, Router, Schema, Status
from pydantic import StrictStr

from common.api import INPUT, READ, WRITE, InputSchema, actor
from common.api_auth import api_auth
from incidents import access, gates
from incidents.api.schemas import RunOut, run_out
from incidents.models import Step, StepRun
from incidents.services import runs
from incidents.services import safeguards as safeguard_services

router = Router(auth=api_auth, tags=["safeguards"])


class ConfirmIn(InputSchema):
    note: StrictStr = Field(default="", max_length=2000)


class ConfirmationOut(Schema):
    safeguard: str
    confirmed_by: str
    confirmed_at: datetime
    valid_until: datetime
    note: str


class OverrideIn(InputSchema):
    reason: StrictStr = Field(min_length=1, max_length=2000)


class GateItemOut(Schema):
    safeguard: str
    title: str
    state: str = Field(description="ok, failed or unconfirmed")
    detail: str


@router.post(
    "/{incident_id}/safeguards/{safeguard_id}/confirm",
    response={200: ConfirmationOut, **WRITE, **INPUT},
)
def confirm_safeguard(
    request: HttpRequest, incident_id: int, safeguard_id: str, payload: ConfirmIn
) -> ConfirmationOut:
    """Confirm a manual safeguard (its owner role or the IC), valid for the runbook's period."""
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    spec = gates.safeguard_specs(incident).get(safeguard_id)
    if spec is None:
        raise Http404("No such safeguard")
    access.require(
        access.can_confirm_safeguard(acc, spec.owner),
        "Only the incident commander or the safeguard's owner role may confirm it.",
    )
    user = actor(request)
    row = safeguard_services.confirm_safeguard(
        incident_id=incident.pk, safeguard_id=spec.id, by=user, note=payload.note
    )
    return ConfirmationOut(
        safeguard=row.safeguard_id,
        confirmed_by=user.get_username(),
        confirmed_at=row.confirmed_at,
        valid_until=row.valid_until,
        note=row.note,
    )


@router.get("/{incident_id}/steps/{step_id}/gate", response={200: list[GateItemOut], **READ})
def step_gate(request: HttpRequest, incident_id: int, step_id: int) -> list[GateItemOut]:
    """The safeguards a run of this step waits for, and whether each holds now."""
    incident, _ = access.get_incident_for_user(request.user, incident_id)
    step = Step.objects.filter(pk=step_id, incident=incident).first()
    if step is None:
        raise Http404("No such step")
    step.incident = incident
    return [
        GateItemOut(safeguard=i.safeguard_id, title=i.title, state=i.state, detail=i.detail)
        for i in gates.gate_for(step)
    ]


@router.post(
    "/{incident_id}/steps/{step_id}/run-override",
    response={201: RunOut, **WRITE, **INPUT},
)
def run_over_safeguards(
    request: HttpRequest, incident_id: int, step_id: int, payload: OverrideIn
) -> Status[RunOut]:
    """Run a step over failed or unconfirmed safeguards (the IC, with a reason on the record)."""
    step, acc = access.get_step_for_user(request.user, incident_id, step_id)
    access.require(
        access.can_override_safeguards(acc),
        "Only the incident commander may start a step over its safeguards.",
    )
    run = runs.request_run(step_id=step.pk, by=actor(request), override_reason=payload.reason)
    fresh = StepRun.objects.select_related("requested_by", "approved_by").get(pk=run.pk)
    return Status(201, run_out(fresh, with_log=acc.can_see_logs))
