from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import Incident, RoleAssignment, TimelineEntry
from runbooks.specs import INCIDENT_COMMANDER
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db

OPEN = {
    "runbook": "small",
    "environment": "staging",
    "title": "Checkout is down",
    "severity": "sev1",
    "is_drill": False,
}


def test_open_incident_creates_it_with_caller_as_commander(api_as, ic, version):
    response = api_as(ic).post("/incidents", OPEN)
    assert response.status_code == 201
    body = response.json()
    incident = Incident.objects.get(pk=body["id"])
    assert (body["title"], body["runbook"], body["runbook_version"]) == (
        "Checkout is down",
        "small",
        1,
    )
    assert (body["severity"], body["status"], body["opened_by"]) == ("sev1", "active", "ic")
    assert [p["key"] for p in body["phases"]] == ["preserve", "validate"]
    commander = next(r for r in body["roles"] if r["key"] == INCIDENT_COMMANDER)
    assert [h["username"] for h in commander["holders"]] == ["ic"]
    assert RoleAssignment.objects.get(incident=incident, role__key=INCIDENT_COMMANDER).user == ic


@pytest.mark.parametrize("who", ["backend", "viewer", "outsider"])
def test_open_incident_is_refused_to_non_commanders(api_as, request, version, who):
    response = api_as(request.getfixturevalue(who)).post("/incidents", OPEN)
    assert response.status_code == 403
    assert response.json() == {"detail": "Only commanders may open incidents."}
    assert Incident.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"runbook": "nope"}, "No runbook 'nope'"),
        ({"environment": "mars"}, "no environment 'mars'"),
    ],
)
def test_open_incident_refuses_unknown_names_with_400(api_as, ic, version, change, message):
    response = api_as(ic).post("/incidents", OPEN | change)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert Incident.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"severity": "sev9"}, "severity"),
        ({"is_drill": "yes"}, "is_drill"),
        ({"title": 42}, "title"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"runbok": "small"}, "runbok"),
    ],
)
def test_open_incident_rejects_wrong_types_with_422_naming_the_field(
    api_as, ic, version, change, field
):
    response = api_as(ic).post("/incidents", OPEN | change)
    assert response.status_code == 422
    assert field in {str(part) for error in response.json()["detail"] for part in error["loc"]}
    assert Incident.objects.count() == 0


def test_open_incident_rejects_malformed_json_with_400(api_as, ic, version):
    # ninja answers unparseable bodies with 400 (a syntax error, RFC 9110),
    # keeping 422 for well-formed bodies whose fields are wrong.
    response = api_as(ic).post("/incidents", raw='{"runbook": "small",')
    assert response.status_code == 400
    assert response.json() == {"detail": "Cannot parse request body"}
    assert Incident.objects.count() == 0


def test_incident_list_puts_active_first(api_as, ic, viewer, incident, version):
    resolved = services.open_incident(
        version=version,
        environment="staging",
        title="Later but over",
        severity="sev3",
        is_drill=False,
        opened_by=ic,
    )
    Incident.objects.filter(pk=resolved.pk).update(
        status=Incident.Status.RESOLVED, resolved_at=timezone.now()
    )
    body = api_as(viewer).get("/incidents").json()
    assert [i["id"] for i in body] == [incident.pk, resolved.pk]
    assert body[0]["progress"] == {"settled": 0, "total": 4, "percent": 0}


def test_incident_list_is_empty_for_outsiders(api_as, outsider, incident):
    response = api_as(outsider).get("/incidents")
    assert (response.status_code, response.json()) == (200, [])


def test_incident_list_keeps_incidents_where_a_former_responder_holds_a_role(
    api_as, ic, backend, incident, version
):
    services.open_incident(
        version=version,
        environment="staging",
        title="Not theirs",
        severity="sev3",
        is_drill=False,
        opened_by=ic,
    )
    backend.groups.clear()  # left the responders group, still on this incident's roster
    body = api_as(backend).get("/incidents").json()
    assert [i["id"] for i in body] == [incident.pk]


def test_incident_detail_lists_phases_steps_and_role_holders(api_as, backend, incident, step):
    services.complete_step(step_id=step("disable-v1").pk, by=backend)
    body = api_as(backend).get(f"/incidents/{incident.pk}").json()
    assert body["id"] == incident.pk
    assert body["revision"] > 0
    assert body["progress"] == {"settled": 1, "total": 4, "percent": 25}
    first, restore = body["phases"][0]["steps"][0], body["phases"][0]["steps"][2]
    assert (first["key"], first["state"], first["state_changed_by"]) == (
        "disable-v1",
        "done",
        "backend",
    )
    assert first["state_changed_at"] is not None
    assert restore == restore | {
        "kind": "shell",
        "owner_role": "system_administrator",
        "requires": ["stop-writes"],
        "approval_role": "incident_commander",
        "command": {"argv": ["pg_restore", "--clean"]},
        "skip_reason": "",
    }
    holders = {r["key"]: [h["username"] for h in r["holders"]] for r in body["roles"]}
    assert holders == {
        INCIDENT_COMMANDER: ["ic"],
        "backend_engineer": ["backend"],
        "system_administrator": ["sysadmin"],
    }


def test_incident_detail_hides_step_commands_from_viewers(api_as, viewer, incident):
    response = api_as(viewer).get(f"/incidents/{incident.pk}")
    assert response.status_code == 200
    steps = [s for phase in response.json()["phases"] for s in phase["steps"]]
    assert steps
    assert all(s["command"] is None for s in steps)


def test_unknown_incident_is_404(api_as, ic, incident):
    response = api_as(ic).get(f"/incidents/{incident.pk + 1000}")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such incident"}


# --- who may do what, across every endpoint ---------------------------------


def endpoints(incident: Incident) -> tuple[list[str], list[tuple[str, str, Any]]]:
    step_id = incident.steps.get(key="disable-v1").pk
    assignment_id = RoleAssignment.objects.get(incident=incident, role__key="backend_engineer").pk
    base = f"/incidents/{incident.pk}"
    reads = [f"{base}", f"{base}/timeline"]
    writes = [
        ("post", f"{base}/roles", {"role": "backend_engineer", "username": "sysadmin"}),
        ("delete", f"{base}/roles/{assignment_id}", None),
        ("post", f"{base}/steps/{step_id}/complete", {}),
        ("post", f"{base}/steps/{step_id}/skip", {"reason": "not needed"}),
        ("post", f"{base}/steps/{step_id}/reopen", {}),
        ("post", f"{base}/timeline", {"text": "hello"}),
    ]
    return reads, writes


def call(api: Api, method: str, path: str, body: Any) -> Any:
    return api.post(path, body) if method == "post" else api.delete(path)


def test_outsider_gets_404_on_every_incident_endpoint(api_as, outsider, incident):
    api = api_as(outsider)
    reads, writes = endpoints(incident)
    assert [api.get(path).status_code for path in reads] == [404] * len(reads)
    assert [call(api, *w).status_code for w in writes] == [404] * len(writes)


def test_viewer_can_read_but_every_write_is_403(api_as, viewer, incident):
    api = api_as(viewer)
    reads, writes = endpoints(incident)
    entries = TimelineEntry.objects.count()
    assert [api.get(path).status_code for path in reads] == [200] * len(reads)
    responses = [call(api, *w) for w in writes]
    assert [r.status_code for r in responses] == [403] * len(writes)
    assert all(r.json()["detail"] for r in responses)
    assert TimelineEntry.objects.count() == entries


def test_non_numeric_incident_id_is_422_in_json(api_as, ic, incident):
    response = api_as(ic).get("/incidents/abc")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "incident_id"]
