"""The communications API: drafts, sends, deliveries; same rules as the page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from comms.models import Send
from tests.api.conftest import Api, make_token

pytestmark = pytest.mark.django_db


def api(user) -> Api:
    return Api(Client(), make_token(user))


def test_viewer_reads_drafts_and_the_pm_sends(pm_incident, viewer, enqueued_deliveries):
    path = f"/incidents/{pm_incident.pk}/comms"
    drafts = api(viewer).get(f"{path}/drafts").json()
    keys = [d["key"] for d in drafts["drafts"]]
    assert "status_page.service_preservation" in keys
    assert {c["audience"]: c["every_minutes"] for c in drafts["cadence"]} == {
        "external": 30,
        "internal": 15,
    }
    response = api(viewer).post(
        f"{path}/sends",
        {"item": "status_page", "phase": "service_preservation", "body": "From the API"},
    )
    assert response.status_code == 201, response.content
    sent = response.json()
    assert sent["body"] == "From the API"
    assert [(d["label"], d["state"]) for d in sent["deliveries"]] == [
        ("status.todoapp.com", "queued")
    ]
    assert api(viewer).get(f"{path}/sends").json()[0]["id"] == sent["id"]
    assert [d["id"] for d in api(viewer).get(f"{path}/deliveries").json()] == [
        sent["deliveries"][0]["id"]
    ]


def test_refusals(pm_incident, backend, outsider, viewer, enqueued_deliveries):
    path = f"/incidents/{pm_incident.pk}/comms/sends"
    body = {"item": "status_page", "phase": "service_preservation"}
    assert api(backend).post(path, body).status_code == 403
    assert api(outsider).post(path, body).status_code == 404
    assert Api(Client()).post(path, body).status_code == 401
    assert api(viewer).post(path, {"item": "status_page", "phase": "nope"}).status_code == 400
    assert api(viewer).post(path, {**body, "extra": 1}).status_code == 422
    assert api(viewer).post(path, {**body, "body": "a\x00b"}).status_code == 422
    assert api(viewer).post(path, raw="{not json").status_code in (400, 422)
    assert not Send.objects.exists()


def test_page_send_and_talking_points(pm_incident, viewer, backend, enqueued_deliveries):
    client = Client()
    client.force_login(viewer)
    page = client.get(reverse("incidents:detail", args=[pm_incident.pk])).content.decode()
    assert 'data-testid="send-status_page.service_preservation"' in page
    assert ".comms-only.for-product_manager{display:revert}" in page
    assert f'hx-get="/incidents/{pm_incident.pk}/comms/me/"' in page  # refetched when roles change
    style = client.get(reverse("comms:me", args=[pm_incident.pk])).content.decode()
    assert style.startswith('<style id="comms-style">')
    assert ".comms-only.for-product_manager{display:revert}" in style
    response = client.post(
        reverse("comms:send", args=[pm_incident.pk]),
        {"item": "status_page", "phase": "service_preservation", "body": "Edited on the page"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "Edited on the page" in response.content.decode()
    other = Client()
    other.force_login(backend)
    refused = other.post(
        reverse("comms:send", args=[pm_incident.pk]),
        {"item": "status_page", "phase": "service_preservation", "body": "x"},
    )
    assert refused.status_code == 403
    points = client.get(reverse("comms:talking_points", args=[pm_incident.pk])).content.decode()
    assert "What users may notice: The v1 API answers 503" in points
    assert "Edited on the page" in points  # the latest public update
