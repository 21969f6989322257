"""The incident list: severity and activity order, running phase and lateness, search, filters."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db.models import F
from django.urls import reverse

from incidents import services
from incidents.models import Incident, Phase

pytestmark = pytest.mark.django_db

ROW_TITLE = re.compile(r'<span class="title">#\d+ ([^<]+)</span>')


def open_(version, ic, title: str, severity: str) -> Incident:
    return services.open_incident(
        version=version,
        environment="staging",
        title=title,
        severity=severity,
        is_drill=False,
        opened_by=ic,
    )


@pytest.fixture
def three(version, ic):
    minor = open_(version, ic, "Slow search", "sev3")
    checkout = open_(version, ic, "Checkout errors", "sev2")
    outage = open_(version, ic, "Full outage", "sev1")
    services.resolve_incident(incident_id=outage.pk, by=ic, override_reason="false alarm")
    # Checkout's first phase (15 min budget) began 20 minutes ago: 5 minutes over.
    Phase.objects.filter(incident=checkout).update(
        planned_start_at=F("planned_start_at") - timedelta(minutes=20),
        planned_end_at=F("planned_end_at") - timedelta(minutes=20),
        started_at=F("started_at") - timedelta(minutes=20),
    )
    return minor, checkout, outage


def titles(client, **params: str) -> list[str]:
    html = client.get(reverse("incidents:list"), params).content.decode()
    return ROW_TITLE.findall(html)


def test_active_first_then_most_severe(client, ic, three):
    client.force_login(ic)
    assert titles(client) == ["Checkout errors", "Slow search", "Full outage"]


def test_by_activity_the_latest_touched_comes_first(client, ic, three):
    minor, _, _ = three
    services.add_note(incident_id=minor.pk, author=ic, text="still slow")
    client.force_login(ic)
    assert titles(client, sort="activity") == ["Slow search", "Checkout errors", "Full outage"]
    assert titles(client) == ["Checkout errors", "Slow search", "Full outage"]


def test_rows_show_the_running_phase_and_how_late_it_is(client, viewer, three):
    client.force_login(viewer)
    html = client.get(reverse("incidents:list")).content.decode()
    assert (
        "Phase 1 of 2: Service preservation · "
        '<strong class="late">over its budget by 5 min</strong>'
    ) in html
    assert "Phase 1 of 2: Service preservation · on time" in html
    assert html.count('data-testid="row-phase"') == 2  # the resolved one has none


def test_search_by_title_or_number_and_filters(client, ic, three):
    minor, _, _ = three
    client.force_login(ic)
    assert titles(client, q="CHECKOUT") == ["Checkout errors"]
    assert titles(client, q=f"#{minor.pk}") == ["Slow search"]
    assert titles(client, status="resolved") == ["Full outage"]
    assert titles(client, severity="sev3") == ["Slow search"]
    assert titles(client, q="nothing like it") == []
    assert (
        "No incident matches" in client.get(reverse("incidents:list"), {"q": "zz"}).content.decode()
    )


def test_bad_filter_values_are_ignored_not_an_error(client, ic, three):
    client.force_login(ic)
    response = client.get(
        reverse("incidents:list"), {"status": "nope", "sort": "sideways", "severity": "x" * 500}
    )
    assert response.status_code == 200
    assert len(ROW_TITLE.findall(response.content.decode())) == 3
