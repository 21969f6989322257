"""Rows for drills11's endpoints: safeguards that gate (confirm, a step's gate, override).

The matrix's runbook (``world.PERMS_RUNBOOK``) gains a manual safeguard owned by the
backend engineer and a scripted step of theirs that waits for it.
"""

from __future__ import annotations

from django.contrib.auth.models import User

from incidents import access
from incidents.models import SafeguardConfirmation, StepRun
from tests.permissions_matrix.prepare import step_kwargs
from tests.permissions_matrix.rows import MANAGE, OK, SEE_INCIDENT, D, L, N, row
from tests.permissions_matrix.world import Case, Endpoint, Prepared, World

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
]
