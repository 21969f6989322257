"""The "now" header (incidents/now.py): phase, what runs, what is next, what blocks, the ETA."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import timezone as dj_timezone

from incidents import access, broadcast, now, panels, services
from incidents.criteria import criteria_status
from incidents.events import Change
from incidents.models import CheckResult, Phase, SafeguardCheck
from incidents.services import runs

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def phase(position: int, start: int, end: int, **times: datetime | None) -> Phase:
    return Phase(
        key=f"p{position}",
        title=f"Phase {position}",
        position=position,
        starts_at_minutes=start,
        ends_at_minutes=end,
        planned_start_at=T0 + timedelta(minutes=start),
        planned_end_at=T0 + timedelta(minutes=end),
        started_at=times.get("started"),
        ended_at=times.get("ended"),
    )


def test_slip_is_one_until_a_phase_ends_and_never_below_one():
    running = phase(0, 0, 15, started=T0)
    assert now.slip_factor([running, phase(1, 15, 60)]) == 1.0
    quick = phase(0, 0, 15, started=T0, ended=T0 + timedelta(minutes=5))
    assert now.slip_factor([quick, phase(1, 15, 60, started=T0)]) == 1.0


def test_eta_stretches_the_remaining_budgets_by_the_slip_so_far():
    # Phase 0 (15 min budget) took 30 min: slip 2. Phase 1 (45 min) runs since T0+30.
    # ETA = T0+30 + 2*45 + 2*(phase 2's 30) = T0 + 180 min.
    ended = phase(0, 0, 15, started=T0, ended=T0 + timedelta(minutes=30))
    running = phase(1, 15, 60, started=T0 + timedelta(minutes=30))
    later = phase(2, 60, 90)
    slip, eta_fixed, rest = now.estimate([ended, running, later], T0 + timedelta(minutes=40))
    assert slip == 2.0
    assert rest == timedelta(minutes=60)
    assert eta_fixed == T0 + timedelta(minutes=180)


def test_an_overrun_phase_ends_now_at_the_earliest(incident, backend):
    first = incident.phases.get(position=0)
    late = first.started_at + timedelta(minutes=40)  # 15-min budget, slip 1
    view = now.build(incident, late)
    assert view.eta == late + timedelta(minutes=45)  # now + phase 2's budget
    assert view.phase_state == "overrun"
    assert view.phase_words == "over its 15 min budget by 25 min"
    assert view.lateness == "25 min behind plan"


def test_the_header_names_phase_next_step_owner_and_eta(incident):
    started = incident.phases.get(position=0).started_at
    view = now.build(incident, started + timedelta(minutes=3))

    assert view.phase is not None and view.phase.title == "Service preservation"
    assert (view.phase_number, view.phase_count) == (1, 2)
    assert view.phase_words == "3 min in, 12 min left of its 15 min budget"
    assert view.next_step is not None
    assert view.next_step.title == "Disable new endpoints"
    assert view.next_step.owner.words == "Backend Engineer (backend)"
    assert view.eta == started + timedelta(minutes=60)
    assert view.lateness == "On plan"
    assert view.blockers == []


def test_a_run_waiting_for_approval_blocks_in_plain_words(incident, ic, sysadmin, step):
    services.complete_step(step_id=step("disable-v1").pk, by=ic)
    services.complete_step(step_id=step("stop-writes").pk, by=ic)
    runs.request_run(step_id=step("restore").pk, by=sysadmin)

    view = now.build(incident, dj_timezone.now())

    [blocker] = view.blockers
    assert blocker.kind == "approval"
    assert blocker.text == (
        "“Restore from backup” waits for approval by Incident commander (ic); asked by sysadmin."
    )
    assert view.next_step is None  # nothing else in the phase is left to take


def test_failed_checks_and_safeguards_are_named_by_their_titles(mig002, ic):
    SafeguardCheck.objects.create(
        incident=mig002,
        safeguard_id="flags_default_off",
        title="Flags default to “off” state",
        result="fail",
        summary="api_v1 is on",
        checked_at=dj_timezone.now(),
    )
    texts = [b.text for b in now.build(mig002, dj_timezone.now()).blockers]
    assert "Safeguard “Flags default to “off” state” is not met." in texts
    assert not any("flags_default_off" in text for text in texts)


def test_a_failed_validation_of_the_running_phase_shows_its_title(mig002, ic):
    validation = mig002.steps.filter(kind="validation").select_related("phase").first()
    assert validation is not None
    Phase.objects.filter(incident=mig002).update(started_at=None)
    Phase.objects.filter(pk=validation.phase_id).update(started_at=dj_timezone.now())
    spec = mig002.runbook_version.parsed()
    found = next(s for s in spec.all_steps() if s.id == validation.key)
    vid = found.validations[0]
    title = next(v.title for v in spec.validations if v.id == vid)
    CheckResult.objects.create(
        incident=mig002,
        validation_id=vid,
        family="x",
        title=title,
        result="fail",
        checked_at=dj_timezone.now(),
    )
    ic_view = render_to_string(
        "incidents/_now.html",
        panels.page_context(mig002, access.access_for(ic, mig002), dj_timezone.now()),
    )
    assert f"Check “{title}” failed." in ic_view.replace("&ldquo;", "“").replace("&rdquo;", "”")
    assert vid not in ic_view


def test_resolved_incident_says_so(incident, ic):
    services.resolve_incident(incident_id=incident.pk, by=ic, override_reason="done by hand")
    incident.refresh_from_db()
    view = now.build(incident, dj_timezone.now())
    assert view.resolved and view.eta is None


def test_the_header_costs_the_same_queries_whatever_the_size(incident, mig002):
    def count(target) -> int:
        with CaptureQueriesContext(connection) as queries:
            now.build(target, dj_timezone.now())
        return len(queries)

    assert count(incident) == count(mig002)


def test_the_criteria_panel_names_checks_by_title_not_identifier(mig002):
    missing = [line for status in criteria_status(mig002) for line in status.missing]
    assert any(line.startswith("check “") for line in missing), missing
    assert not any(re.search(r"\b[a-z0-9]+_[a-z0-9_]+\b", line) for line in missing), missing


def test_the_header_is_pushed_with_a_step_change_not_with_a_note(incident, step):
    def pushed(change: Change) -> list[str]:
        return [template for template, _ in broadcast.fragments(change, dj_timezone.now())["view"]]

    assert "incidents/_now.html" in pushed(Change(incident.pk, steps={step("disable-v1").pk}))
    assert "incidents/_now.html" in pushed(Change(incident.pk, roles=True))
    entry = incident.timeline.first()
    assert "incidents/_now.html" not in pushed(Change(incident.pk, timeline={entry.pk}))
