"""NUL characters posted to the incident pages: a 400 naming the field, nothing written.

Before, "advance" with a NUL in its reason was a 500 (and "resolve" too once its
override reason was stored); the forms with a Django form answered a 200 whose
message ("A note needs some text") did not say what was wrong.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from incidents.models import Incident, Step, TimelineEntry

pytestmark = pytest.mark.django_db


def state(incident) -> tuple[object, ...]:
    incident.refresh_from_db()
    return (
        Incident.objects.count(),
        TimelineEntry.objects.count(),
        incident.status,
        incident.revision,
        sorted(Step.objects.filter(incident=incident).values_list("state", flat=True)),
    )


def test_every_incident_form_refuses_a_nul_naming_the_field(client, ic, incident, step):
    client.force_login(ic)
    i, s = incident.pk, step("disable-v1").pk
    posts = [
        (reverse("incidents:note_add", args=[i]), {"text": "note\x00"}, "text"),
        (reverse("incidents:step_skip", args=[i, s]), {"reason": "why\x00"}, "reason"),
        (reverse("incidents:phase_advance", args=[i]), {"reason": "go\x00"}, "reason"),
        (reverse("incidents:resolve", args=[i]), {"reason": "done\x00"}, "reason"),
        (reverse("incidents:role_assign", args=[i]), {"role": "dba\x00", "user": ic.pk}, "role"),
        (
            reverse("incidents:open"),
            {"version": incident.runbook_version.pk, "environment": "staging",
             "title": "down\x00", "severity": "sev1"},
            "title",
        ),
    ]  # fmt: skip
    before = state(incident)
    for url, data, field in posts:
        response = client.post(url, data, HTTP_HX_REQUEST="true")

        assert response.status_code == 400, (url, response.content[:200])
        assert response.content.decode() == (
            f"Refused: the field {field!r} contains a NUL character (U+0000), "
            "which cannot be stored.\n"
        )
    assert state(incident) == before


def test_a_nul_in_the_environment_query_is_refused(client, ic, incident):
    client.force_login(ic)

    response = client.get(reverse("incidents:environments"), {"version": "1\x00"})

    assert response.status_code == 400
