"""Scheduled drills: booked by a commander, opened at their time by beat, their people told."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident, RoleAssignment, ScheduledDrill
from incidents.services.errors import ServiceError
from incidents.services.scheduled_drills import open_due_drills, schedule_drill
from tests.drills.gated import gated_spec
from tests.factories import make_version

pytestmark = pytest.mark.django_db
NOTIFY = "incidents.services.scheduled_drills.notify_users"


@pytest.fixture
def runbook():
    return make_version(gated_spec()).runbook


def _book(runbook, ic, **kw):
    values = {
        "runbook": runbook,
        "environment": "staging",
        "starts_at": timezone.now() + timedelta(hours=1),
        "commander": ic,
        "by": ic,
    }
    values.update(kw)
    return schedule_drill(**values)


def test_a_scheduled_drill_opens_at_its_time_and_tells_its_people(runbook, ic, backend):
    drill = _book(runbook, ic, assignments={"backend_engineer": backend})
    assert drill.title.startswith("Drill: ") and drill.title.endswith(" in Staging")
    assert open_due_drills() == []  # not yet
    with mock.patch(NOTIFY) as notify:
        opened = open_due_drills(drill.starts_at + timedelta(seconds=1))
    (incident_id,) = opened
    incident = Incident.objects.get(pk=incident_id)
    assert incident.is_drill and incident.environment == "staging" and incident.opened_by == ic
    assert RoleAssignment.objects.filter(
        incident=incident, role__key="backend_engineer", user=backend
    ).exists()
    (call,) = notify.call_args_list
    assert set(call.args[0]) == {ic.pk, backend.pk} and call.args[1] == "drill_opened"
    assert call.args[2]["url"] == reverse("incidents:detail", args=[incident_id])
    drill.refresh_from_db()
    assert (drill.status, drill.incident_id) == ("opened", incident_id)
    # A second sweep opens nothing again.
    assert open_due_drills(drill.starts_at + timedelta(minutes=5)) == []
    assert Incident.objects.filter(is_drill=True).count() == 1


def test_booking_refuses_production_the_past_and_non_commanders(runbook, ic, backend):
    with pytest.raises(ServiceError, match="production"):
        _book(runbook, ic, environment="production")
    with pytest.raises(ServiceError, match="time ahead"):
        _book(runbook, ic, starts_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(ServiceError, match="Only commanders"):
        _book(runbook, ic, by=backend)
    with pytest.raises(ServiceError, match="may not command"):
        _book(runbook, ic, commander=backend)
    with pytest.raises(ServiceError, match="no environment"):
        _book(runbook, ic, environment="moon")
    assert not ScheduledDrill.objects.exists()


def test_a_drill_that_cannot_open_is_marked_failed_with_why(runbook, ic):
    drill = _book(runbook, ic)
    ic.groups.clear()  # no longer a commander when the time comes
    with mock.patch(NOTIFY) as notify:
        assert open_due_drills(drill.starts_at) == []
    drill.refresh_from_db()
    assert drill.status == "failed" and "Only commanders" in drill.problem
    assert notify.call_args.args[1] == "drill_failed"
    assert not Incident.objects.exists()


def test_the_page_lists_drills_and_commanders_book_one(client, runbook, ic, backend):
    client.force_login(ic)
    url = reverse("incidents:scheduled_drills")
    page = client.get(url).content.decode()
    assert 'data-testid="schedule-drill"' in page
    when = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    form = {"runbook": "gated", "environment": "staging", "starts_at": when, "commander": "ic"}
    response = client.post(url, form)
    assert response.status_code == 302
    drill = ScheduledDrill.objects.get()
    assert drill.commander == ic and drill.created_by == ic
    refused = client.post(url, {**form, "environment": "production"})
    assert refused.status_code == 400 and "drills are refused there" in refused.content.decode()
    # A responder sees the list, without the form, and may not post.
    client.force_login(backend)
    page = client.get(url).content.decode()
    assert f'data-testid="scheduled-{drill.pk}"' in page
    assert 'data-testid="schedule-drill"' not in page
    assert client.post(url, form).status_code == 403
    assert ScheduledDrill.objects.count() == 1
