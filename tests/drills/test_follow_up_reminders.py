"""Overdue follow-ups remind their assignee by email, once per follow-up per day."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.utils import timezone

from incidents import services
from incidents.models import FollowUp
from incidents.services.follow_up_reminders import remind_overdue
from tests.drills.gated import gated_spec
from tests.factories import make_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def follow_ups(ic, backend):
    spec = gated_spec()
    spec["post_actions"] = [
        {"id": "rca", "title": "Root cause analysis", "owner": "incident_commander"},
        {"id": "docs", "title": "Update the docs", "owner": "backend_engineer"},
        {"id": "fix", "title": "Fix the migration", "owner": "backend_engineer"},
    ]
    incident = services.open_incident(
        version=make_version(spec), environment="staging", title="Drill", severity="sev2",
        is_drill=True, opened_by=ic,
    )  # fmt: skip
    backend.email = "backend@example.org"
    backend.save(update_fields=["email"])
    today = timezone.localdate()
    rows = {f.key: f for f in FollowUp.objects.filter(incident=incident)}
    # Overdue and open: reminded. Done: not. Not yet due: not.
    FollowUp.objects.filter(pk=rows["rca"].pk).update(
        assignee=backend, due_on=today - timedelta(days=2)
    )
    FollowUp.objects.filter(pk=rows["docs"].pk).update(
        assignee=backend, due_on=today - timedelta(days=2), status=FollowUp.Status.DONE
    )
    FollowUp.objects.filter(pk=rows["fix"].pk).update(assignee=backend, due_on=today)
    return incident, rows


def test_an_overdue_follow_up_emails_its_assignee_once_a_day(follow_ups, mailoutbox):
    incident, rows = follow_ups
    today = timezone.localdate()
    assert remind_overdue(today) == 1
    (mail,) = mailoutbox
    assert mail.to == ["backend@example.org"]
    assert mail.subject == "Overdue follow-up: Root cause analysis"
    assert f"Incident #{incident.pk}: Drill" in mail.body and "2 days ago" in mail.body
    assert f"{settings.RIPCORD_PUBLIC_URL}/follow-ups/?mine=1&overdue=1" in mail.body
    assert FollowUp.objects.get(pk=rows["rca"].pk).reminded_on == today

    assert remind_overdue(today) == 0  # the same day: not again
    assert len(mailoutbox) == 1
    assert remind_overdue(today + timedelta(days=1)) == 2  # the next day: rca, and fix now too
    assert len(mailoutbox) == 3


def test_no_address_or_emails_off_sends_nothing(follow_ups, mailoutbox, settings, backend):
    settings.RIPCORD_FOLLOW_UP_EMAILS = False
    assert remind_overdue() == 0
    settings.RIPCORD_FOLLOW_UP_EMAILS = True
    backend.email = ""
    backend.save(update_fields=["email"])
    assert remind_overdue() == 0
    assert mailoutbox == []


def test_a_refused_email_gives_the_day_back(follow_ups, mailoutbox):
    _, rows = follow_ups
    path = "incidents.services.follow_up_reminders.send_mail"
    with mock.patch(path, side_effect=ConnectionRefusedError("no mail server")):
        assert remind_overdue() == 0
    assert FollowUp.objects.get(pk=rows["rca"].pk).reminded_on is None
    assert remind_overdue() == 1  # the next sweep sends it


def test_the_reminder_runs_from_beat_on_the_control_queue():
    entry = settings.CELERY_BEAT_SCHEDULE["remind-follow-ups"]
    assert entry["task"] == "incidents.tasks.remind_follow_ups_task"
    route = settings.CELERY_TASK_ROUTES[entry["task"]]
    assert route == {"queue": settings.RIPCORD_CONTROL_QUEUE}
