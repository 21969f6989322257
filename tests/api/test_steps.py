from __future__ import annotations

import pytest

from incidents import services
from incidents.models import Incident, Step
from tests.factories import SMALL_RUNBOOK, make_version

pytestmark = pytest.mark.django_db

ACTIONS = [("complete", {}), ("skip", {"reason": "covered elsewhere"}), ("reopen", {})]


def url(incident: Incident, step: Step, action: str) -> str:
    return f"/incidents/{incident.pk}/steps/{step.pk}/{action}"


def test_step_owner_completes_own_step(api_as, backend, incident, step):
    response = api_as(backend).post(url(incident, step("disable-v1"), "complete"))
    assert response.status_code == 200
    body = response.json()
    assert (body["key"], body["state"], body["state_changed_by"]) == (
        "disable-v1",
        "done",
        "backend",
    )
    assert step("disable-v1").state == Step.State.DONE


@pytest.mark.parametrize(("action", "body"), ACTIONS)
def test_responder_not_owning_step_is_refused(api_as, sysadmin, incident, step, action, body):
    target = step("disable-v1")  # owned by backend_engineer
    if action == "reopen":
        services.complete_step(step_id=target.pk, by=incident.opened_by)
    before = step("disable-v1").state
    response = api_as(sysadmin).post(url(incident, target, action), body)
    assert response.status_code == 403
    assert response.json() == {"detail": "Only the step's owner role or the commander may do this."}
    assert step("disable-v1").state == before


@pytest.mark.parametrize(("action", "body"), ACTIONS)
def test_step_owner_may_do_every_step_action(api_as, backend, incident, step, action, body):
    target = step("disable-v1")
    if action == "reopen":
        services.complete_step(step_id=target.pk, by=backend)
    assert api_as(backend).post(url(incident, target, action), body).status_code == 200


@pytest.mark.parametrize(("action", "body"), ACTIONS)
def test_commander_may_act_on_any_step(api_as, ic, incident, step, action, body):
    target = step("smoke")  # owned by backend_engineer, which ic does not hold
    if action == "reopen":
        services.skip_step(step_id=target.pk, by=ic, reason="later")
    response = api_as(ic).post(url(incident, target, action), body)
    assert response.status_code == 200
    assert response.json()["state_changed_by"] == "ic"


def test_double_complete_is_a_conflict_naming_who_was_first(api_as, backend, ic, incident, step):
    target = step("disable-v1")
    assert api_as(backend).post(url(incident, target, "complete")).status_code == 200
    response = api_as(ic).post(url(incident, target, "complete"))
    assert response.status_code == 409
    assert response.json() == {"detail": "Already done by backend."}


def test_skip_records_the_reason(api_as, backend, incident, step):
    response = api_as(backend).post(url(incident, step("smoke"), "skip"), {"reason": "  no time  "})
    assert (response.json()["state"], response.json()["skip_reason"]) == ("skipped", "no time")


@pytest.mark.parametrize(
    ("body", "status"), [({"reason": "   "}, 400), ({}, 422), ({"reason": 3}, 422)]
)
def test_skip_without_reason_is_refused(api_as, backend, incident, step, body, status):
    response = api_as(backend).post(url(incident, step("smoke"), "skip"), body)
    assert response.status_code == status
    assert step("smoke").state == Step.State.PENDING


def test_complete_with_unmet_requirement_is_400(api_as, sysadmin, incident, step):
    response = api_as(sysadmin).post(url(incident, step("stop-writes"), "complete"))
    assert response.status_code == 400
    assert "Disable new endpoints" in response.json()["detail"]


def test_reopen_pending_step_is_a_conflict(api_as, backend, incident, step):
    response = api_as(backend).post(url(incident, step("smoke"), "reopen"))
    assert response.status_code == 409


def test_reopened_step_is_pending_again(api_as, backend, incident, step):
    api = api_as(backend)
    api.post(url(incident, step("smoke"), "complete"))
    body = api.post(url(incident, step("smoke"), "reopen")).json()
    assert (body["state"], body["state_changed_by"]) == ("pending", "backend")


def test_step_of_another_incident_is_404(api_as, ic, incident, version):
    spec = SMALL_RUNBOOK | {"id": "other"}
    other = services.open_incident(
        version=make_version(spec),
        environment="staging",
        title="Other",
        severity="sev3",
        is_drill=True,
        opened_by=ic,
    )
    foreign = other.steps.get(key="disable-v1")
    response = api_as(ic).post(url(incident, foreign, "complete"))
    assert response.status_code == 404
    assert Step.objects.get(pk=foreign.pk).state == Step.State.PENDING
