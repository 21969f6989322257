"""MIG-002 walked through its four phases on a controllable clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from incidents import services
from incidents.models import Phase, Step, TimelineEntry
from runbooks.selectors import latest_version

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def at(self, minutes: float) -> datetime:
        self.now = T0 + timedelta(minutes=minutes)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(timezone, "now", lambda: c.now)
    return c


@pytest.fixture
def mig002(ic, clock, django_capture_on_commit_callbacks):
    call_command("load_runbooks", verbosity=0)
    with django_capture_on_commit_callbacks(execute=True):
        return services.open_incident(
            version=latest_version("mig-002"),  # type: ignore[arg-type]
            environment="demo",
            title="MIG-002 rollback",
            severity="sev1",
            is_drill=True,
            opened_by=ic,
        )


def phases(incident):
    return {p.key: p for p in Phase.objects.filter(incident=incident)}


def settle_phase(incident, key, by):
    for step in Step.objects.filter(phase__incident=incident, phase__key=key, state="pending"):
        services.skip_step(step_id=step.pk, by=by, reason="drill: done by hand")


def pushed_clock_states(sent, phase):
    marker = f'id="phase-clock-{phase.pk}"'
    states = []
    for group, message in sent:
        if group.endswith(".view") and marker in message["html"]:
            html = message["html"]
            start = html.index(marker)
            states.append(html[start:].split('data-state="', 1)[1].split('"', 1)[0])
    return states


def test_mig002_walks_four_phases_on_time_at_risk_and_overrun(
    mig002, clock, ic, sent, django_capture_on_commit_callbacks
):
    def committed(action, *args, **kwargs):
        """Run one service call as its own committed transaction (its pushes render then)."""
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    incident = mig002
    p = phases(incident)
    # Planned windows are stored from the plan's budgets; phase 1 starts with the incident.
    assert [(x.planned_start_at - T0, x.planned_end_at - T0) for x in p.values()] == [
        (timedelta(minutes=a), timedelta(minutes=b))
        for a, b in [(0, 15), (15, 60), (60, 120), (120, 240)]
    ]
    assert p["service_preservation"].started_at == T0
    assert p["service_preservation"].clock_state == "on_time"

    clock.at(5)
    assert committed(services.refresh_clocks) == []  # nothing changed: nothing pushed or recorded
    clock.at(13)  # 2 of 15 minutes left
    committed(services.refresh_clocks)
    clock.at(16)
    committed(services.refresh_clocks)
    committed(settle_phase, incident, "service_preservation", ic)  # exit rule holds: phase 2 starts
    p = phases(incident)
    assert pushed_clock_states(sent, p["service_preservation"]) == [
        "at_risk",
        "overrun",
        "done_late",
    ]
    assert p["service_preservation"].ended_at == T0 + timedelta(minutes=16)
    assert p["service_preservation"].clock_state == "done_late"
    assert p["data_rollback"].started_at == T0 + timedelta(minutes=16)

    clock.at(50)
    committed(settle_phase, incident, "data_rollback", ic)  # on time
    clock.at(110)  # phase 3 (60-120): 10 of 60 minutes left
    committed(services.refresh_clocks)
    committed(settle_phase, incident, "system_restoration", ic)
    p = phases(incident)
    assert p["data_rollback"].clock_state == "done"
    assert p["data_rollback"].ended_at == T0 + timedelta(minutes=50)
    assert "at_risk" in pushed_clock_states(sent, p["system_restoration"])
    assert p["system_restoration"].ended_at == T0 + timedelta(minutes=110)
    assert p["validation_monitoring"].started_at == T0 + timedelta(minutes=110)

    # The IC may end the last phase early, but only with a reason while steps are open.
    clock.at(130)
    with pytest.raises(services.ServiceError, match="cannot exit yet"):
        services.advance_phase(incident_id=incident.pk, by=ic)
    committed(
        services.advance_phase,
        incident_id=incident.pk,
        by=ic,
        reason="monitoring continues in #ops",
    )
    last = phases(incident)["validation_monitoring"]
    assert last.ended_at == T0 + timedelta(minutes=130) and last.clock_state == "done"

    texts = list(
        TimelineEntry.objects.filter(incident=incident).order_by("pk").values_list("kind", "text")
    )
    clocks = [t for k, t in texts if k == TimelineEntry.Kind.PHASE_CLOCK]
    assert clocks[:2] == [
        "Immediate service preservation at risk: 2 min left of its budget",
        "Immediate service preservation overrun: its budget ended 1 min ago",
    ]
    assert any(t.startswith("System restoration at risk") for t in clocks)
    started = [t for k, t in texts if k == TimelineEntry.Kind.PHASE_STARTED]
    assert started == [
        "Phase started: Data rollback",
        "Phase started: System restoration",
        "Phase started: Validation and monitoring",
    ]
    ended = [t for k, t in texts if k == TimelineEntry.Kind.PHASE_ENDED]
    assert len(ended) == 4 and "Reason: monitoring continues in #ops" in ended[-1]


def test_advance_is_for_the_commander_only_over_http(client, mig002, backend):
    client.force_login(backend)
    response = client.post(f"/incidents/{mig002.pk}/advance/", {"reason": "x"})
    assert response.status_code == 403
    assert phases(mig002)["service_preservation"].ended_at is None
