from __future__ import annotations

import pytest

from incidents.models import Incident, RoleAssignment
from runbooks.specs import INCIDENT_COMMANDER

pytestmark = pytest.mark.django_db


def holders(incident: Incident, role_key: str) -> list[str]:
    return list(
        RoleAssignment.objects.filter(incident=incident, role__key=role_key).values_list(
            "user__username", flat=True
        )
    )


def test_assign_role_by_username(api_as, ic, incident):
    response = api_as(ic).post(
        f"/incidents/{incident.pk}/roles", {"role": "backend_engineer", "username": "sysadmin"}
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["role"], body["username"]) == ("backend_engineer", "sysadmin")
    assert sorted(holders(incident, "backend_engineer")) == ["backend", "sysadmin"]


def test_assign_role_by_user_id(api_as, ic, other_responder, incident):
    response = api_as(ic).post(
        f"/incidents/{incident.pk}/roles",
        {"role": "system_administrator", "user_id": other_responder.pk},
    )
    assert response.status_code == 200
    assert response.json()["user_id"] == other_responder.pk


def test_assign_role_is_refused_to_responders(api_as, backend, incident):
    response = api_as(backend).post(
        f"/incidents/{incident.pk}/roles", {"role": "backend_engineer", "username": "sysadmin"}
    )
    assert response.status_code == 403
    assert holders(incident, "backend_engineer") == ["backend"]


@pytest.mark.parametrize(
    "body",
    [
        {"role": "backend_engineer"},
        {"role": "backend_engineer", "username": "sysadmin", "user_id": 1},
        {"role": "backend_engineer", "user_id": "three"},
    ],
)
def test_assign_role_needs_exactly_one_person_reference(api_as, ic, incident, body):
    assert api_as(ic).post(f"/incidents/{incident.pk}/roles", body).status_code == 422


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"role": "backend_engineer", "username": "nobody"}, "No such active user."),
        ({"role": "pilot", "username": "sysadmin"}, "no role 'pilot'"),
        ({"role": "backend_engineer", "username": "pm"}, "may not hold the role"),
    ],
)
def test_assign_role_refusals_are_400(api_as, ic, viewer, incident, body, message):
    response = api_as(ic).post(f"/incidents/{incident.pk}/roles", body)
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_unassign_role_removes_the_holder(api_as, ic, incident):
    assignment = RoleAssignment.objects.get(incident=incident, role__key="backend_engineer")
    response = api_as(ic).delete(f"/incidents/{incident.pk}/roles/{assignment.pk}")
    assert response.status_code == 204
    assert holders(incident, "backend_engineer") == []


def test_unassign_role_twice_is_a_conflict(api_as, ic, incident):
    assignment = RoleAssignment.objects.get(incident=incident, role__key="backend_engineer")
    api = api_as(ic)
    api.delete(f"/incidents/{incident.pk}/roles/{assignment.pk}")
    response = api.delete(f"/incidents/{incident.pk}/roles/{assignment.pk}")
    assert response.status_code == 409


def test_unassign_commander_is_refused(api_as, ic, incident):
    assignment = RoleAssignment.objects.get(incident=incident, role__key=INCIDENT_COMMANDER)
    response = api_as(ic).delete(f"/incidents/{incident.pk}/roles/{assignment.pk}")
    assert response.status_code == 400
    assert holders(incident, INCIDENT_COMMANDER) == ["ic"]


def test_unassign_role_is_refused_to_responders(api_as, backend, incident):
    assignment = RoleAssignment.objects.get(incident=incident, role__key="backend_engineer")
    response = api_as(backend).delete(f"/incidents/{incident.pk}/roles/{assignment.pk}")
    assert response.status_code == 403
    assert holders(incident, "backend_engineer") == ["backend"]
