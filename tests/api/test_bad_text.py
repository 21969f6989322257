"""NUL characters and lone surrogates in API input: a 422 naming the field, never a 500.

PostgreSQL cannot store either (a NUL is refused in text columns, a lone
surrogate cannot be encoded as UTF-8), so before this every such request was a
500 — after some of the request's work was already done.
"""

from __future__ import annotations

import pytest
from django.test import Client

from incidents.models import Incident, Step, TimelineEntry
from tests.api.conftest import BASE, Api, make_token

pytestmark = pytest.mark.django_db

BAD = {"nul": "a\x00b", "surrogate": "a\ud800b"}


@pytest.fixture
def api(ic) -> Api:
    return Api(Client(raise_request_exception=False), make_token(ic))


def routes(incident, step) -> list[tuple[str, dict[str, object], str]]:
    """(path, body, the field holding bad text) for every text input of the API."""
    i, s = incident.pk, step.pk
    open_body = {"runbook": "small", "environment": "staging", "title": "t"}
    return [
        ("/incidents", {**open_body, "title": "{bad}"}, "title"),
        ("/incidents", {**open_body, "runbook": "{bad}"}, "runbook"),
        ("/incidents", {**open_body, "environment": "{bad}"}, "environment"),
        (f"/incidents/{i}/roles", {"role": "backend_engineer", "username": "{bad}"}, "username"),
        (f"/incidents/{i}/roles", {"role": "{bad}", "user_id": 1}, "role"),
        (f"/incidents/{i}/steps/{s}/skip", {"reason": "{bad}"}, "reason"),
        (f"/incidents/{i}/timeline", {"text": "{bad}"}, "text"),
        (f"/incidents/{i}/advance", {"reason": "{bad}"}, "reason"),
        (f"/incidents/{i}/resolve", {"reason": "{bad}"}, "reason"),
    ]


def fill(body: dict[str, object], bad: str) -> dict[str, object]:
    return {key: bad if value == "{bad}" else value for key, value in body.items()}


def state(incident) -> tuple[object, ...]:
    incident.refresh_from_db()
    return (
        Incident.objects.count(),
        TimelineEntry.objects.count(),
        incident.status,
        incident.revision,
        sorted(Step.objects.filter(incident=incident).values_list("state", flat=True)),
    )


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_text_in_any_api_input_is_a_422_naming_the_field(api, incident, step, kind):
    before = state(incident)
    for path, body, field in routes(incident, step("disable-v1")):
        response = api.post(path, fill(body, BAD[kind]))

        assert response.status_code == 422, (path, field, response.content[:300])
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", "payload", field], (path, error)
    assert state(incident) == before  # nothing half-written


def test_the_422_says_what_is_wrong(api, incident):
    response = api.post(f"/incidents/{incident.pk}/timeline", {"text": "note\x00"})

    [error] = response.json()["detail"]
    assert error["msg"] == "Value error, contains a NUL character (U+0000), which cannot be stored"

    response = api.post(f"/incidents/{incident.pk}/timeline", {"text": "note\udfff"})

    [error] = response.json()["detail"]
    assert error["msg"] == "Value error, contains a lone surrogate (U+DFFF), which is not text"


def test_nul_in_a_runbook_slug_is_a_422_naming_the_slug(api):
    response = api.client.get(f"{BASE}/runbooks/mig%00002", headers=api.headers)

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["path", "slug"]


@pytest.mark.parametrize("token", ["rpc_\x00abc", "rpc_\ud800abc"])
def test_unreadable_bearer_token_is_unauthorized(incident, token):
    client = Client(raise_request_exception=False)

    response = client.get(f"{BASE}/incidents", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
