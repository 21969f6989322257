"""Rows for drills11's endpoints: safeguards that gate (confirm, a step's gate, override).

The matrix's runbook (``world.PERMS_RUNBOOK``) gains a manual safeguard owned by the
backend engineer and a scripted step of theirs that waits for it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from incidents import access
from incidents.models import FollowUp, SafeguardConfirmation, ScheduledDrill, StepRun
from tests.permissions_matrix.prepare import step_kwargs
from tests.permissions_matrix.rows import (
    LIST_INCIDENTS_PAGE,
    MANAGE,
    OK,
    OPEN_INCIDENT,
    RUNBOOKS,
    SEE_INCIDENT,
    D,
    L,
    N,
    row,
)
from tests.permissions_matrix.world import Case, Endpoint, Prepared, World, nothing

SAFEGUARD = "offsite-copy"
GATED_STEP = "gated-script"
# The safeguard's owner role (backend_engineer, held by "owner") or the IC.
CONFIRM_SAFEGUARD = row(L, N, D, D, D, OK, OK)


def safeguard_kwargs(world: World, user: User | None) -> Prepared:
    return Prepared(
        kwargs={"incident_id": world.incident.pk, "safeguard_id": SAFEGUARD},
        data={"note": "checked by the matrix"},
    )


def can_confirm(case: Case) -> bool:
    return case.access.can_view and access.can_confirm_safeguard(case.access, "backend_engineer")


def can_override(case: Case) -> bool:
    return case.access.can_view and access.can_override_safeguards(case.access)


def can_view(case: Case) -> bool:
    return case.access.can_view


def confirmed(case: Case) -> bool:
    return SafeguardConfirmation.objects.filter(
        incident=case.world.incident, safeguard_id=SAFEGUARD, confirmed_by=case.user
    ).exists()


def overridden(case: Case) -> bool:
    run = StepRun.objects.filter(step=case.step).first()
    return run is not None and run.safeguard_override_reason == "the matrix says so"


def follow_up(proposal: str, **data: str) -> Callable[[World, User | None], Prepared]:
    """A follow-up of the backend engineer's role on the incident (plan or proposed)."""

    def prepare(world: World, user: User | None) -> Prepared:
        row = FollowUp.objects.create(
            incident=world.incident,
            key=f"matrix-{proposal}",
            title="Follow up from the matrix",
            owner_role="backend_engineer",
            position=99,
            proposal=proposal,
        )
        return Prepared(
            kwargs={"incident_id": world.incident.pk, "follow_up_id": row.pk},
            data=data,
        )

    return prepare


def can_use_ripcord(case: Case) -> bool:
    return access.can_use_ripcord(case.person)


def can_edit(case: Case) -> bool:
    return case.access.can_view and access.can_edit_follow_up(
        case.access, assignee_id=None, owner_role="backend_engineer"
    )


def can_triage(case: Case) -> bool:
    return case.access.can_view and access.can_triage_follow_ups(case.access)


def follow_up_is(**expected: str) -> Callable[[Case], bool]:
    def check(case: Case) -> bool:
        row = FollowUp.objects.get(incident=case.world.incident, key__startswith="matrix-")
        return all(getattr(row, name) == value for name, value in expected.items())

    return check


def schedule_form(world: World, user: User | None) -> Prepared:
    """finish11: a drill of the matrix's runbook booked for tomorrow, the IC commanding."""
    when = timezone.localtime() + timedelta(days=1)
    return Prepared(
        data={
            "runbook": world.version.runbook.slug,
            "environment": "staging",
            "starts_at": when.strftime("%Y-%m-%dT%H:%M"),
            "commander": world.ic.get_username(),
        }
    )


def can_schedule(case: Case) -> bool:
    return access.can_open_incident(case.person)


def drill_scheduled(case: Case) -> bool:
    return ScheduledDrill.objects.filter(created_by=case.user).exists()


DRILLS: list[Endpoint] = [
    Endpoint(
        "safeguard-confirm",
        "incidents:safeguard_confirm",
        "POST",
        CONFIRM_SAFEGUARD,
        can_confirm,
        prepare=safeguard_kwargs,
        done=confirmed,
    ),
    Endpoint(
        "run-override",
        "incidents:run_override",
        "POST",
        MANAGE,
        can_override,
        step=GATED_STEP,
        prepare=step_kwargs(GATED_STEP, reason="the matrix says so"),
        done=overridden,
    ),
    Endpoint(
        "safeguard-confirm",
        "api:confirm_safeguard",
        "POST",
        CONFIRM_SAFEGUARD,
        can_confirm,
        api=True,
        prepare=safeguard_kwargs,
        done=confirmed,
    ),
    Endpoint(
        "step-gate",
        "api:step_gate",
        "GET",
        SEE_INCIDENT,
        can_view,
        api=True,
        step=GATED_STEP,
        prepare=step_kwargs(GATED_STEP),
    ),
    Endpoint(
        "run-override",
        "api:run_over_safeguards",
        "POST",
        MANAGE,
        can_override,
        api=True,
        ok_status=201,
        step=GATED_STEP,
        prepare=step_kwargs(GATED_STEP, reason="the matrix says so"),
        done=overridden,
    ),
    # Follow-ups: the lists are for anyone in a Ripcord group; writes as access.py says.
    Endpoint(
        "follow-ups", "incidents:follow_ups", "GET", LIST_INCIDENTS_PAGE, can_use_ripcord,
        prepare=nothing,
    ),
    Endpoint(
        "follow-ups-csv", "incidents:follow_ups_csv", "GET", LIST_INCIDENTS_PAGE,
        can_use_ripcord, prepare=nothing,
    ),
    Endpoint(
        "follow-up-update", "incidents:follow_up_update", "POST", CONFIRM_SAFEGUARD, can_edit,
        prepare=follow_up("plan", status="done", notes="by the matrix"), done=follow_up_is(status="done"),
    ),
    Endpoint(
        "follow-up-accept", "incidents:follow_up_accept", "POST", MANAGE, can_triage,
        prepare=follow_up("proposed"), done=follow_up_is(proposal="accepted"),
    ),
    Endpoint(
        "follow-up-dismiss", "incidents:follow_up_dismiss", "POST", MANAGE, can_triage,
        prepare=follow_up("proposed"), done=follow_up_is(proposal="dismissed"),
    ),
    Endpoint(
        "follow-ups", "api:list_follow_ups", "GET", RUNBOOKS, can_use_ripcord, api=True,
        prepare=nothing,
    ),
    Endpoint(
        "incident-follow-ups", "api:incident_follow_ups", "GET", SEE_INCIDENT, can_view,
        api=True,
    ),
    Endpoint(
        "follow-up-update", "api:update_follow_up", "POST", CONFIRM_SAFEGUARD, can_edit,
        api=True, prepare=follow_up("plan", status="done", notes="by the matrix"), done=follow_up_is(status="done"),
    ),
    Endpoint(
        "follow-up-accept", "api:accept_follow_up", "POST", MANAGE, can_triage, api=True,
        prepare=follow_up("proposed"), done=follow_up_is(proposal="accepted"),
    ),
    Endpoint(
        "follow-up-dismiss", "api:dismiss_follow_up", "POST", MANAGE, can_triage, api=True,
        prepare=follow_up("proposed"), done=follow_up_is(proposal="dismissed"),
    ),
    # finish11: scheduled drills, the list for anyone in Ripcord, booking for commanders.
    Endpoint(
        "scheduled-drills", "incidents:scheduled_drills", "GET", LIST_INCIDENTS_PAGE,
        can_use_ripcord, prepare=nothing,
    ),
    Endpoint(
        "schedule-drill", "incidents:scheduled_drills", "POST", OPEN_INCIDENT, can_schedule,
        ok_status=302, prepare=schedule_form, done=drill_scheduled,
    ),
]  # fmt: skip
