"""Drill scorecards at resolve, kept per runbook version; the runbook page's history and badge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.models import DrillScorecard, SafeguardCheck
from incidents.services import runs
from incidents.services.safeguards import confirm_safeguard
from tests.drills.gated import gated_spec
from tests.factories import make_version

pytestmark = pytest.mark.django_db


def _spec():
    spec = gated_spec(approval=True)
    spec["success_criteria"] = [
        {"id": "login", "title": "Users log in", "signoff": "backend_engineer"}
    ]
    return spec


def _drill(version, ic, backend, sysadmin, *, is_drill=True):
    incident = services.open_incident(
        version=version, environment="staging", title="Drill", severity="sev2",
        is_drill=is_drill, opened_by=ic,
    )  # fmt: skip
    for role, user in (("backend_engineer", backend), ("system_administrator", sysadmin)):
        services.assign_role(incident_id=incident.pk, role_key=role, user_id=user.pk, by=ic)
    services.complete_step(step_id=incident.steps.get(key="disable-v1").pk, by=backend)
    services.skip_step(
        step_id=incident.steps.get(key="stop-writes").pk, by=sysadmin, reason="drained"
    )
    SafeguardCheck.objects.create(
        incident=incident, safeguard_id="backup_verified", title="Backup verified",
        result="pass", summary="ok", checked_at=timezone.now(),
    )  # fmt: skip
    confirm_safeguard(incident_id=incident.pk, safeguard_id="backup_offsite", by=sysadmin)
    run = runs.request_run(step_id=incident.steps.get(key="restore").pk, by=sysadmin)
    runs.approve_run(run_id=run.pk, by=ic)
    incident.phases.filter(position=0).update(planned_end_at=timezone.now() - timedelta(minutes=20))
    services.resolve_incident(incident_id=incident.pk, by=ic, override_reason="drill over")
    incident.refresh_from_db()
    return incident


def test_a_resolved_drill_gets_a_scorecard_against_its_phase_times(ic, backend, sysadmin):
    version = make_version(_spec())
    incident = _drill(version, ic, backend, sysadmin)
    card = DrillScorecard.objects.get(incident=incident)
    assert card.runbook_version == version and card.environment == "staging"
    first, second = incident.phases.order_by("position")
    phases = {p["key"]: p for p in card.data["phases"]}
    assert phases["preserve"]["planned_minutes"] == first.ends_at_minutes - first.starts_at_minutes
    stored_over = round((first.ended_at - first.planned_end_at).total_seconds() / 60, 1)
    assert phases["preserve"]["overrun_minutes"] == stored_over >= 20
    stored_actual = round((first.ended_at - first.started_at).total_seconds() / 60, 1)
    assert phases["preserve"]["actual_minutes"] == stored_actual
    assert phases["validate"]["ended"] is (second.ended_at is not None)
    assert set(card.data["first_action_seconds"]) == {"backend_engineer", "system_administrator"}
    assert [w["step"] for w in card.data["approval_waits"]] == ["restore"]
    assert card.data["skipped"] == ["stop-writes"] and card.data["overridden"] == []
    assert card.data["criteria"] == {"met": 0, "total": 1}
    assert card.passed is False
    # Shares: phases on time 0/2 (one overran, one never ended), criteria 0/1, clean steps 3/4.
    assert card.score == round(100 * (0 + 0 + 3 / 4) / 3)


def test_a_real_incident_gets_no_scorecard(ic, backend, sysadmin):
    incident = _drill(make_version(_spec()), ic, backend, sysadmin, is_drill=False)
    assert not DrillScorecard.objects.filter(incident=incident).exists()


def test_runbook_page_shows_history_and_a_last_drill_badge_stale_after_a_new_version(
    client, ic, backend, sysadmin
):
    version = make_version(_spec())
    incident = _drill(version, ic, backend, sysadmin)
    card = DrillScorecard.objects.get(incident=incident)
    client.force_login(backend)
    url = reverse("runbooks:detail", args=["gated"])
    html = client.get(url).content.decode()
    assert f'data-testid="drill-{incident.pk}"' in html
    assert f"· v1 · score {card.score}</span>" in html and "stale" not in html

    newer = _spec()
    newer["title"] = "Gated, revised"
    make_version(newer, number=2)
    html = client.get(url).content.decode()
    assert f"· v1 · score {card.score} · stale: v2 is newer</span>" in html
    assert 'class="badge last-drill stale' in html


def test_the_resolved_drills_page_shows_its_scorecard(client, ic, backend, sysadmin):
    incident = _drill(make_version(_spec()), ic, backend, sysadmin)
    client.force_login(backend)
    html = client.get(reverse("incidents:detail", args=[incident.pk])).content.decode()
    card = DrillScorecard.objects.get(incident=incident)
    assert 'data-testid="scorecard"' in html and f"score {card.score}" in html
    assert "Skipped</dt><dd>stop-writes</dd>" in html
