from __future__ import annotations

import json

import pytest

from tests.factories import SMALL_RUNBOOK, make_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_versions(version):
    spec = json.loads(json.dumps(SMALL_RUNBOOK))
    spec["title"] = "Small rollback, revised"
    return version, make_version(spec, number=2)


def test_runbook_list_shows_latest_version_of_each(api_as, backend, two_versions):
    response = api_as(backend).get("/runbooks")
    assert response.status_code == 200
    assert response.json() == [
        {
            "slug": "small",
            "title": "Small rollback, revised",
            "version": 2,
            "environments": ["staging", "production"],
            "phase_count": 2,
        }
    ]


def test_runbook_detail_returns_latest_spec(api_as, backend, two_versions):
    body = api_as(backend).get("/runbooks/small").json()
    assert (body["slug"], body["version"], body["details_hidden"]) == ("small", 2, False)
    assert body["spec"]["title"] == "Small rollback, revised"
    restore = body["spec"]["phases"][0]["steps"][2]
    assert restore["command"] == {"argv": ["pg_restore", "--clean"]}
    assert body["spec"]["environments"][0]["variables"] == {"PGDATABASE": "todo"}


def test_runbook_detail_returns_requested_version(api_as, backend, two_versions):
    body = api_as(backend).get("/runbooks/small", version=1).json()
    assert (body["version"], body["spec"]["title"]) == (1, "Small rollback")


@pytest.mark.parametrize(
    ("path", "params"), [("/runbooks/nope", {}), ("/runbooks/small", {"version": 9})]
)
def test_runbook_detail_unknown_is_404(api_as, backend, version, path, params):
    response = api_as(backend).get(path, **params)
    assert response.status_code == 404
    assert "detail" in response.json()


def test_runbook_detail_hides_variables_and_commands_from_viewers(api_as, viewer, version):
    response = api_as(viewer).get("/runbooks/small")
    assert response.status_code == 200
    body = response.json()
    assert body["details_hidden"] is True
    steps = [s for phase in body["spec"]["phases"] for s in phase["steps"]]
    assert [s["title"] for s in steps][:2] == ["Disable new endpoints", "Stop all write operations"]
    assert all(s["command"] == {} for s in steps)
    assert all(env["variables"] == {} for env in body["spec"]["environments"])
    assert "pg_restore" not in response.content.decode()


@pytest.mark.parametrize("path", ["/runbooks", "/runbooks/small"])
def test_runbooks_are_refused_to_outsiders(api_as, outsider, version, path):
    assert api_as(outsider).get(path).status_code == 403
