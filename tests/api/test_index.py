"""``GET /api/v1/`` says where the API's document and docs are; the docs need no CDN."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.api.conftest import BASE

pytestmark = pytest.mark.django_db


def test_the_api_root_answers_json_pointing_at_the_document():
    response = Client().get(f"{BASE}/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["openapi"] == f"http://testserver{BASE}/openapi.json"
    assert body["docs"] == f"http://testserver{BASE}/docs"
    assert Client().get(body["openapi"]).status_code == 200


def test_the_docs_page_loads_swagger_ui_from_this_server_only():
    html = Client().get(f"{BASE}/docs").content.decode()

    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("swagger-ui-bundle" in source for source in sources), sources
    assert all(source.startswith("/") for source in sources), sources  # nothing from a CDN
