"""Who is told that they are needed (incidents/notices.py), after commit, never the actor."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from common import notify
from incidents import services
from incidents.models import Phase
from incidents.services import runs

pytestmark = pytest.mark.django_db


@pytest.fixture
def told(monkeypatch) -> list[tuple[str, str]]:
    """(channel group, kind) of every notice that left."""
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(
        notify, "send", lambda groups, message: sent.extend((g, message["kind"]) for g in groups)
    )
    return sent


def to(user, kind: str) -> tuple[str, str]:
    return (notify.user_group(user.pk), kind)


def test_an_approval_waits_for_the_ic_not_the_requester(
    restore, ic, sysadmin, told, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        runs.request_run(step_id=restore.pk, by=sysadmin)
    assert told == [to(ic, "approval")]


def test_the_owner_of_an_unblocked_step_is_told(
    incident, step, backend, sysadmin, told, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.complete_step(step_id=step("disable-v1").pk, by=backend)
    assert told == [to(sysadmin, "unblocked")]  # stop-writes waited for disable-v1 only


def test_role_holders_are_told_of_the_resolution_but_the_resolver(
    incident, ic, backend, sysadmin, told, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.resolve_incident(incident_id=incident.pk, by=ic, override_reason="drill")
    assert sorted(told) == sorted([to(backend, "resolved"), to(sysadmin, "resolved")])


def test_a_late_phase_tells_the_ic_and_its_step_owners(
    incident, ic, backend, sysadmin, told, django_capture_on_commit_callbacks
):
    phase = Phase.objects.get(incident=incident, key="preserve")
    with django_capture_on_commit_callbacks(execute=True):
        services.refresh_clocks(now=phase.planned_end_at + timedelta(minutes=1))
    assert sorted(told) == sorted(
        [to(ic, "phase_clock"), to(backend, "phase_clock"), to(sysadmin, "phase_clock")]
    )
    assert timezone.now() < phase.planned_end_at  # the clock was asked about the future
