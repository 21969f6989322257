from __future__ import annotations

import pytest

from incidents import services
from incidents.models import Criterion, Incident
from tests.factories import make_version
from tests.validation_runs import CHECKED_RUNBOOK, meet_criteria

pytestmark = pytest.mark.django_db


def test_resolve_refused_with_unmet_criteria_then_overridden(api_as, mig002, ic):
    refused = api_as(ic).post(f"/incidents/{mig002.pk}/resolve", {})
    assert refused.status_code == 400 and "Success criteria not met" in refused.json()["detail"]
    assert Incident.objects.get(pk=mig002.pk).status == "active"
    done = api_as(ic).post(f"/incidents/{mig002.pk}/resolve", {"reason": "drill over"})
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["resolve_override_reason"]) == (
        "resolved",
        "drill over",
    )


def test_criteria_list_says_what_is_missing(api_as, mig002, viewer):
    body = api_as(viewer).get(f"/incidents/{mig002.pk}/criteria").json()
    first = body["criteria"][0]
    assert first["key"] == "users_can_access_accounts" and not first["met"]
    assert "sign-off by product manager" in first["missing"]


def test_signoff_by_role_holder_only(api_as, mig002, ic, viewer):
    criterion = Criterion.objects.get(incident=mig002, key="users_can_access_accounts")
    url = f"/incidents/{mig002.pk}/criteria/{criterion.pk}/signoff"
    assert api_as(viewer).post(url).status_code == 403
    refused = api_as(ic).post(url)  # the IC holds no product manager role here
    assert refused.status_code == 403
    assert "holding the criterion's sign-off role" in refused.json()["detail"]
    services.assign_role(
        incident_id=mig002.pk, role_key="product_manager", user_id=viewer.pk, by=ic
    )
    signed = api_as(viewer).post(url)
    assert signed.status_code == 200
    assert signed.json()["criteria"][0]["signed_off_by"] == "pm"


def test_advance_needs_reason_while_steps_are_open(api_as, mig002, ic, backend):
    assert (
        api_as(backend).post(f"/incidents/{mig002.pk}/advance", {"reason": "x"}).status_code == 403
    )
    refused = api_as(ic).post(f"/incidents/{mig002.pk}/advance", {})
    assert refused.status_code == 400 and "cannot exit yet" in refused.json()["detail"]
    moved = api_as(ic).post(f"/incidents/{mig002.pk}/advance", {"reason": "preserved by hand"})
    assert moved.json() == {"started_phase": "data_rollback"}
    phases = api_as(ic).get(f"/incidents/{mig002.pk}").json()["phases"]
    assert [p["clock_state"] for p in phases][:2] == ["done", "on_time"]


@pytest.fixture
def version(db):
    """Overrides conftest's (for ``incident``): criteria proven by checks and sign-offs."""
    return make_version(CHECKED_RUNBOOK)


def test_resolve_needs_no_reason_once_every_criterion_is_met(api_as, incident, ic):
    meet_criteria(incident)
    done = api_as(ic).post(f"/incidents/{incident.pk}/resolve", {})
    assert done.status_code == 200
    body = done.json()
    assert (body["status"], body["resolve_override_reason"]) == ("resolved", "")
    assert [(c["key"], c["met"], c["missing"]) for c in body["criteria"]] == [
        ("no-data-lost", True, []),
        ("users-served", True, []),
        ("ops-normal", True, []),
    ]


def test_resolve_without_a_reason_names_the_unmet_criterion(api_as, incident, ic):
    meet_criteria(incident, unsigned={"users-served"})
    refused = api_as(ic).post(f"/incidents/{incident.pk}/resolve", {})
    assert refused.status_code == 400
    assert refused.json() == {
        "detail": "Success criteria not met: Users can work again (sign-off by backend "
        "engineer). Give a reason to resolve anyway."
    }
    assert Incident.objects.get(pk=incident.pk).status == "active"
