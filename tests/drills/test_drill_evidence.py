"""A passing drill on staging confirms the Rollback Testing safeguards of the next incident."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents import gates, services
from incidents.models import DrillScorecard, SafeguardConfirmation, TimelineEntry
from tests.drills.gated import gated_spec
from tests.factories import make_version

pytestmark = pytest.mark.django_db

ROLLBACK_TESTING = ["rehearsed_in_staging", "restore_tested"]


def _spec(*, staging: bool = True, criterion: bool = False):
    spec = gated_spec()
    spec["environments"][0]["is_staging"] = staging
    spec["safeguards"] += [
        {
            "id": "rehearsed_in_staging",
            "category": "rollback_testing",
            "title": "Rollback rehearsed in staging",
            "owner": "system_administrator",
            "valid_for_minutes": 14 * 24 * 60,
        },
        {
            "id": "restore_tested",
            "category": "rollback_testing",
            "title": "Backup restoration tested",
            "owner": "system_administrator",
        },
    ]
    if criterion:  # never signed off: the drill fails
        spec["success_criteria"] = [
            {"id": "login", "title": "Users log in", "signoff": "backend_engineer"}
        ]
    return spec


def _resolved_drill(version, ic, **kw):
    drill = services.open_incident(
        version=version, environment="staging", title="Drill", severity="sev2",
        is_drill=True, opened_by=ic,
    )  # fmt: skip
    services.resolve_incident(incident_id=drill.pk, by=ic, override_reason=kw.get("reason", ""))
    return drill


def _production(version, ic):
    return services.open_incident(
        version=version, environment="production", title="Real", severity="sev1",
        is_drill=False, opened_by=ic, confirm_environment="production",
    )  # fmt: skip


def test_a_passing_staging_drill_confirms_rollback_testing_for_the_next_incident(client, ic):
    version = make_version(_spec())
    drill = _resolved_drill(version, ic)
    card = DrillScorecard.objects.get(incident=drill)
    assert card.passed

    incident = _production(version, ic)
    rows = SafeguardConfirmation.objects.filter(incident=incident).order_by("safeguard_id")
    assert [r.safeguard_id for r in rows] == sorted(ROLLBACK_TESTING)
    for row in rows:
        assert row.evidence_incident_id == drill.pk and row.confirmed_by == ic
        assert row.confirmed_at == card.computed_at
        assert f"drill #{drill.pk} on staging" in row.note and "passed" in row.note
    by_id = {r.safeguard_id: r for r in rows}
    assert by_id["rehearsed_in_staging"].valid_until == card.computed_at + timedelta(days=14)
    assert by_id["restore_tested"].valid_until == card.computed_at + timedelta(days=1)
    # The pre-flight: both hold; the database-backups one still waits for a person.
    items = gates.gate_items(incident, [*ROLLBACK_TESTING, "backup_offsite"])
    assert [i.state for i in items] == ["ok", "ok", "unconfirmed"]
    entries = TimelineEntry.objects.filter(
        incident=incident, kind=TimelineEntry.Kind.SAFEGUARD_CONFIRMED
    )
    assert {e.data["evidence_incident"] for e in entries} == {drill.pk}
    # The incident page links the evidence.
    client.force_login(ic)
    html = client.get(reverse("incidents:detail", args=[incident.pk])).content.decode()
    assert 'data-testid="evidence-rehearsed_in_staging"' in html
    assert reverse("incidents:detail", args=[drill.pk]) in html


def test_an_expired_drill_confirms_only_what_is_still_within_its_period(ic):
    version = make_version(_spec())
    drill = _resolved_drill(version, ic)
    DrillScorecard.objects.filter(incident=drill).update(
        computed_at=timezone.now() - timedelta(days=3)
    )
    incident = _production(version, ic)
    assert list(
        SafeguardConfirmation.objects.filter(incident=incident).values_list(
            "safeguard_id", flat=True
        )
    ) == ["rehearsed_in_staging"]


@pytest.mark.parametrize(("staging", "criterion"), [(True, True), (False, False)])
def test_a_failed_drill_or_one_off_staging_is_no_evidence(ic, staging, criterion):
    version = make_version(_spec(staging=staging, criterion=criterion))
    drill = _resolved_drill(version, ic, reason="drill over" if criterion else "")
    assert DrillScorecard.objects.get(incident=drill).passed is not criterion
    incident = _production(version, ic)
    assert not SafeguardConfirmation.objects.filter(incident=incident).exists()
