"""The OpenAPI document says what each route really answers, checked by real requests.

Every route: 401 to an anonymous caller, browser-style (CSRF enforced) or not. Every
route with inputs (a body, query parameters, a constrained path parameter): 422 for
malformed ones, and no route without inputs claims a 422.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from tests.api.conftest import BASE, make_token

pytestmark = pytest.mark.django_db

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def operations(client: Client) -> list[tuple[str, str, dict[str, Any]]]:
    document = client.get(f"{BASE}/openapi.json").json()
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def concrete(path: str) -> str:
    return PLACEHOLDER.sub(lambda m: "mig-002" if m.group(1) == "slug" else "1", path)


def has_inputs(operation: dict[str, Any]) -> bool:
    parameters = operation.get("parameters", [])
    constrained_path = any(
        p["in"] == "path" and "pattern" in p.get("schema", {}) for p in parameters
    )
    return (
        "requestBody" in operation
        or any(p["in"] == "query" for p in parameters)
        or constrained_path
    )


def call(client: Client, method: str, path: str, **kwargs: Any):
    return getattr(client, method)(path, **kwargs)


def test_every_route_documents_and_answers_401_to_an_anonymous_caller():
    browser = Client(enforce_csrf_checks=True)  # as a browser without a session would call
    for method, path, operation in operations(browser):
        assert "401" in operation["responses"], (method, path)

        response = call(browser, method, concrete(path), content_type="application/json")

        assert response.status_code == 401, (method, path, response.content[:200])
        assert response.json() == {"detail": "Unauthorized"}


def test_every_route_documents_a_success_answer():
    for method, path, operation in operations(Client()):
        assert any(code.startswith("2") for code in operation["responses"]), (method, path)


def test_routes_with_inputs_document_and_answer_422_and_no_other_route_claims_it(ic):
    headers = {"Authorization": f"Bearer {make_token(ic)}"}
    client = Client()
    with_inputs = 0
    for method, path, operation in operations(client):
        if not has_inputs(operation):
            assert "422" not in operation["responses"], (method, path)
            continue
        with_inputs += 1
        assert "422" in operation["responses"], (method, path)
        query = {p["name"]: "\x00" for p in operation.get("parameters", []) if p["in"] == "query"}
        url = concrete(path) + ("?" + "&".join(f"{k}=%00" for k in query) if query else "")
        body = '{"no_such_field": 1}' if "requestBody" in operation else None

        response = call(client, method, url, data=body, content_type="application/json", headers=headers)  # fmt: skip

        assert response.status_code == 422, (method, path, response.content[:300])
        assert isinstance(response.json()["detail"], list)  # each error names its field
    # comms: sends; status13: publish; drills11: confirm, run-override, 3 on follow-ups;
    # and the routes the other branches brought: 16 once they met on main.
    assert with_inputs == 16


def test_the_422_body_is_documented_as_a_list_of_located_errors():
    document = Client().get(f"{BASE}/openapi.json").json()
    operation = document["paths"][f"{BASE}/incidents/{{incident_id}}/timeline"]["post"]
    ref = operation["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
    shape = document["components"]["schemas"][ref.rsplit("/", 1)[1]]

    assert shape["properties"]["detail"]["type"] == "array"


def test_anonymous_post_is_401_even_with_csrf_enforced(incident):
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        f"{BASE}/incidents/{incident.pk}/timeline", {"text": "hi"}, content_type="application/json"
    )

    assert response.status_code == 401
    assert response.json() == {"detail": "Unauthorized"}
