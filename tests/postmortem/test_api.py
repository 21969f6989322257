"""API: the postmortem as Markdown."""

from __future__ import annotations

import pytest
from django.utils.dateparse import parse_datetime

from postmortem.markdown import SECTIONS
from tests.postmortem.demo import OVERRIDE_REASON, T0
from tests.postmortem.mdparse import sections

pytestmark = pytest.mark.django_db


def test_postmortem_returns_the_markdown_document(api_as, demo):
    response = api_as(demo.people["ic2"]).get(f"/incidents/{demo.incident.pk}/postmortem")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"markdown", "generated_at"}
    assert sections(body["markdown"])[1] == list(SECTIONS)
    assert OVERRIDE_REASON.split("\n")[0].replace("|", "\\|") in body["markdown"]
    assert "`script: scripts/rollback_database.sh`" in body["markdown"]
    assert parse_datetime(body["generated_at"]) == T0.replace(hour=11, minute=10)


def test_viewers_get_it_without_commands(api_as, demo, viewer):
    response = api_as(viewer).get(f"/incidents/{demo.incident.pk}/postmortem")
    assert response.status_code == 200
    assert "scripts/rollback_database.sh" not in response.json()["markdown"]


def test_outsiders_and_anonymous_are_refused(api_as, anonymous_api, demo, outsider):
    path = f"/incidents/{demo.incident.pk}/postmortem"
    assert api_as(outsider).get(path).status_code == 404
    assert anonymous_api.get(path).status_code == 401
