"""A run gated on the incident commander, asked for by the IC (issue 12, item 3).

Four eyes stay the rule while they can: any other commander may approve it; only
with none may the IC approve their own run, with a reason, recorded as an override.
"""

from __future__ import annotations

import pytest

from common.capabilities import COMMANDERS
from incidents import access, services
from incidents.models import StepRun, TimelineEntry
from incidents.services import runs
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def ics_own_run(restore, ic) -> StepRun:
    return runs.request_run(step_id=restore.pk, by=ic)


def test_alone_the_ic_may_approve_their_own_run_with_a_reason(ics_own_run, ic, incident):
    acc = access.access_for(ic, incident)
    assert not acc.can_approve(ics_own_run.step, requested_by_id=ic.pk)
    assert acc.can_self_approve(ics_own_run.step, requested_by_id=ic.pk, other_commanders=0)
    with pytest.raises(services.ServiceError, match="Say why"):
        runs.self_approve_run(run_id=ics_own_run.pk, by=ic, reason="  ")

    run = runs.self_approve_run(run_id=ics_own_run.pk, by=ic, reason="alone at night")
    assert (run.status, run.approved_by) == (StepRun.Status.QUEUED, ic)
    entry = TimelineEntry.objects.get(incident=incident, kind=TimelineEntry.Kind.RUN_APPROVED)
    assert entry.data == {"run": run.pk, "override": "self_approval", "reason": "alone at night"}
    assert entry.text.startswith("Override: the incident commander approved their own run")


def test_with_another_commander_the_ic_must_ask_them(ics_own_run, ic, incident):
    other = make_user("ic2", COMMANDERS)
    with pytest.raises(
        services.ServiceError, match=r"Another commander can approve this run \(ic2\)"
    ):
        runs.self_approve_run(run_id=ics_own_run.pk, by=ic, reason="in a hurry")
    assert access.access_for(other, incident).can_approve(ics_own_run.step, requested_by_id=ic.pk)
    run = runs.approve_run(run_id=ics_own_run.pk, by=other)
    assert run.approved_by == other


def test_nobody_else_may_self_approve(restore, ic, sysadmin, incident):
    """Not the owner's own request (the IC approves that), nor a gate on another role."""
    run = runs.request_run(step_id=restore.pk, by=sysadmin)
    acc = access.access_for(sysadmin, incident)
    assert not acc.can_self_approve(run.step, requested_by_id=sysadmin.pk, other_commanders=0)
    with pytest.raises(services.ServiceError):
        runs.self_approve_run(run_id=run.pk, by=sysadmin, reason="me")
    ic_acc = access.access_for(ic, incident)
    assert not ic_acc.can_self_approve(run.step, requested_by_id=sysadmin.pk, other_commanders=0)
    assert ic_acc.can_approve(run.step, requested_by_id=sysadmin.pk)
