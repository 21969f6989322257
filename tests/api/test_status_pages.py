"""/api/v1/status-pages: read by any Ripcord user; published by commanders and the incident's PM."""

from __future__ import annotations

import pytest

from incidents import services as incident_services
from statuspage.models import Update

UPDATE = {
    "title": "Logins failing",
    "body": "We are rolling back.",
    "status": "investigating",
    "impact": "major",
    "components": {"Login": "major_outage"},
}


@pytest.fixture
def pm_incident(mig002, ic, viewer, sent):
    """MIG-002 with the viewer holding the product manager's role."""
    incident_services.assign_role(
        incident_id=mig002.pk, role_key="product_manager", user_id=viewer.pk, by=ic
    )
    return mig002


def test_any_ripcord_user_reads_pages_components_and_updates(db, api_as, viewer):
    api = api_as(viewer)
    pages = api.get("/status-pages").json()
    assert {"slug": "todo-app", "name": "Todo App", "url": "/status/todo-app/"} in pages
    page = api.get("/status-pages/todo-app").json()
    assert page["indicator"] == "none" and page["description"] == "All Systems Operational"
    assert [c["name"] for c in page["components"]] == ["Web app", "API", "Login", "Task data"]
    assert len(api.get("/status-pages/todo-app/components").json()) == 4
    assert api.get("/status-pages/todo-app/updates").json() == []
    assert api.get("/status-pages/nope").status_code == 404


def test_outsiders_and_anonymous_read_nothing(db, api_as, anonymous_api, outsider):
    assert anonymous_api.get("/status-pages").status_code == 401
    assert api_as(outsider).get("/status-pages/todo-app").status_code == 403


def test_a_commander_publishes_and_a_retry_with_its_key_publishes_once(db, api_as, ic, sent):
    api = api_as(ic)
    body = {**UPDATE, "idempotency_key": "api-retry-1"}
    first = api.post("/status-pages/todo-app/updates", body)
    assert first.status_code == 201, first.content
    again = api.post("/status-pages/todo-app/updates", body)
    assert again.json()["id"] == first.json()["id"]
    assert Update.objects.count() == 1
    listed = api.get("/status-pages/todo-app/updates").json()
    assert [(u["title"], u["author"]) for u in listed] == [("Logins failing", "ic")]


def test_the_pm_publishes_for_their_active_incident_only(
    pm_incident, api_as, viewer, backend, incident
):
    api = api_as(viewer)
    own = api.post(
        "/status-pages/todo-app/updates", {**UPDATE, "source_incident_id": pm_incident.pk}
    )
    assert own.status_code == 201, own.content
    assert own.json()["source_incident_id"] == pm_incident.pk
    other = api.post(
        "/status-pages/todo-app/updates", {**UPDATE, "source_incident_id": incident.pk}
    )
    assert other.status_code == 403
    standalone = api.post("/status-pages/todo-app/updates", UPDATE)
    assert standalone.status_code == 403
    responder = api_as(backend).post(
        "/status-pages/todo-app/updates", {**UPDATE, "source_incident_id": pm_incident.pk}
    )
    assert responder.status_code == 403
    assert Update.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"status": "panicking"}, 400),
        ({"components": {"Billing": "major_outage"}}, 400),
        ({"title": "   "}, 400),
        ({"title": "a\u0000b"}, 422),
        ({"title": "x" * 201}, 422),
        ({"surprise": 1}, 422),
        ({"source_incident_id": 999999}, 400),
        ({"source_incident_id": 2**70}, 422),
    ],
)
def test_bad_input_is_a_clear_4xx_and_publishes_nothing(db, api_as, ic, sent, change, status):
    response = api_as(ic).post("/status-pages/todo-app/updates", {**UPDATE, **change})
    assert response.status_code == status, response.content
    assert "detail" in response.json()
    assert not Update.objects.exists()


def test_publishing_to_an_unknown_page_is_a_404(db, api_as, ic, sent):
    assert api_as(ic).post("/status-pages/nope/updates", UPDATE).status_code == 404
    assert api_as(ic).post("/status-pages/a%00b/updates", UPDATE).status_code == 404
    assert api_as(ic).get("/status-pages/a%00b").status_code == 404
