from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory

from common.models import ApiToken
from incidents.models import TimelineEntry
from tests.api.conftest import BASE, Api, make_token

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/runbooks", "/incidents", "/incidents/1"])
def test_anonymous_request_is_unauthorized(anonymous_api, path):
    response = anonymous_api.get(path)
    assert response.status_code == 401
    assert response.json() == {"detail": "Unauthorized"}


def test_anonymous_write_is_unauthorized(anonymous_api, incident):
    response = anonymous_api.post(f"/incidents/{incident.pk}/timeline", {"text": "hi"})
    assert response.status_code == 401


def test_bad_token_is_unauthorized(incident):
    response = Api(Client(), "rpc_not-a-real-token").get(f"/incidents/{incident.pk}")
    assert response.status_code == 401


def test_bad_token_write_is_unauthorized_not_a_csrf_refusal(incident):
    # A script's wrong token must read as 401, not fall through to the
    # session check and come back as a confusing CSRF 403.
    api = Api(Client(enforce_csrf_checks=True), "rpc_not-a-real-token")
    response = api.post(f"/incidents/{incident.pk}/timeline", {"text": "hi"})
    assert response.status_code == 401


def test_token_of_inactive_user_is_unauthorized(incident, backend):
    token = make_token(backend)
    backend.is_active = False
    backend.save(update_fields=["is_active"])
    assert Api(Client(), token).get(f"/incidents/{incident.pk}").status_code == 401


def test_token_records_last_use_at_most_once_a_minute(incident, backend):
    token = make_token(backend)
    api = Api(Client(), token)
    assert api.get("/incidents").status_code == 200
    first = ApiToken.objects.get(user=backend).last_used_at
    assert first is not None
    api.get("/incidents")
    assert ApiToken.objects.get(user=backend).last_used_at == first
    ApiToken.objects.filter(user=backend).update(last_used_at=first - timedelta(minutes=2))
    api.get("/incidents")
    refreshed = ApiToken.objects.get(user=backend).last_used_at
    assert refreshed is not None
    assert refreshed > first - timedelta(minutes=1)


def test_session_read_works_without_token(incident, viewer):
    client = Client()
    client.force_login(viewer)
    response = client.get(f"{BASE}/incidents/{incident.pk}")
    assert response.status_code == 200


def test_session_write_without_csrf_token_is_refused(incident, backend):
    client = Client(enforce_csrf_checks=True)
    client.force_login(backend)
    before = TimelineEntry.objects.count()
    response = client.post(
        f"{BASE}/incidents/{incident.pk}/timeline", {"text": "hi"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert TimelineEntry.objects.count() == before


def test_session_write_with_csrf_token_is_accepted(incident, backend):
    client = Client(enforce_csrf_checks=True)
    client.force_login(backend)
    request = RequestFactory().get("/")
    token = get_token(request)
    client.cookies[settings.CSRF_COOKIE_NAME] = request.META["CSRF_COOKIE"]
    response = client.post(
        f"{BASE}/incidents/{incident.pk}/timeline",
        {"text": "from the browser"},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 201


def test_openapi_schema_lists_every_path(anonymous_api):
    response = anonymous_api.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(paths) == {
        f"{BASE}{p}"
        for p in [
            "/runbooks",
            "/runbooks/{slug}",
            "/incidents",
            "/incidents/{incident_id}",
            "/incidents/{incident_id}/roles",
            "/incidents/{incident_id}/roles/{assignment_id}",
            "/incidents/{incident_id}/steps/{step_id}/complete",
            "/incidents/{incident_id}/steps/{step_id}/skip",
            "/incidents/{incident_id}/steps/{step_id}/reopen",
            "/incidents/{incident_id}/timeline",
            "/incidents/{incident_id}/steps/{step_id}/run",
            "/incidents/{incident_id}/runs/{run_id}",
            "/incidents/{incident_id}/runs/{run_id}/approve",
            "/incidents/{incident_id}/runs/{run_id}/self-approve",
            "/incidents/{incident_id}/runs/{run_id}/cancel",
            "/incidents/{incident_id}/runs/{run_id}/log",
            "/incidents/{incident_id}/criteria",
            "/incidents/{incident_id}/criteria/{criterion_id}/signoff",
            "/incidents/{incident_id}/resolve",
            "/incidents/{incident_id}/advance",
            "/incidents/{incident_id}/postmortem",
            # Communications (comms/api.py).
            "/incidents/{incident_id}/comms/drafts",
            "/incidents/{incident_id}/comms/sends",
            "/incidents/{incident_id}/comms/deliveries",
            "/status-pages",
            "/status-pages/{slug}",
            "/status-pages/{slug}/components",
            "/status-pages/{slug}/updates",
            # drills11: safeguards that gate
            "/incidents/{incident_id}/safeguards/{safeguard_id}/confirm",
            "/incidents/{incident_id}/steps/{step_id}/gate",
            "/incidents/{incident_id}/steps/{step_id}/run-override",
            "/follow-ups",
            "/incidents/{incident_id}/follow-ups",
            "/incidents/{incident_id}/follow-ups/{follow_up_id}",
            "/incidents/{incident_id}/follow-ups/{follow_up_id}/accept",
            "/incidents/{incident_id}/follow-ups/{follow_up_id}/dismiss",
            "/receivers",
            "/proposals",
            "/proposals/{proposal_id}/open",
            "/proposals/{proposal_id}/decline",
            "/runbooks/{slug}/evaluations",
        ]
    }
    assert set(paths[f"{BASE}/incidents"]) == {"get", "post"}
    assert set(paths[f"{BASE}/incidents/{{incident_id}}/timeline"]) == {"get", "post"}
    assert set(paths[f"{BASE}/incidents/{{incident_id}}/roles/{{assignment_id}}"]) == {"delete"}
    schemes = response.json()["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http", "apiKey"}


def test_api_docs_page_is_served(anonymous_api):
    assert anonymous_api.get("/docs").status_code == 200
