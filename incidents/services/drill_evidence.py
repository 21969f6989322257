"""A passing drill on staging as evidence: the plan's Rollback Testing safeguards, met.

The plan asks for the rollback to be tested in staging before the migration. When an
incident opens, the newest passing drill of the same runbook on an environment marked
``is_staging`` confirms each manual safeguard of the ``rollback_testing`` category, with
the drill as its evidence (``SafeguardConfirmation.evidence_incident``): confirmed by the
drill's commander when it was scored, valid for the safeguard's own period from then. So
the next pre-flight shows them met, and a gate naming one of them holds.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from incidents.events import Change
from incidents.models import DrillScorecard, Incident, SafeguardConfirmation, TimelineEntry
from incidents.services.timeline import record
from runbooks.specs import RunbookSpec

CATEGORY = "rollback_testing"


def staging_drill(incident: Incident, spec: RunbookSpec) -> DrillScorecard | None:
    """The newest passing drill of this runbook on a staging environment, if any."""
    staging = [e.id for e in spec.environments if e.is_staging]
    if not staging:
        return None
    return (
        DrillScorecard.objects.filter(
            runbook_version__runbook_id=incident.runbook_version.runbook_id,
            environment__in=staging,
            passed=True,
        )
        .exclude(incident=incident)
        .select_related("incident__opened_by", "runbook_version")
        .order_by("-computed_at")
        .first()
    )


def carry_drill_evidence(incident: Incident, spec: RunbookSpec, change: Change) -> int:
    """Confirm the rollback-testing safeguards from a passing staging drill (callers hold
    the incident lock); how many were confirmed (0: no drill, or its period is over)."""
    card = staging_drill(incident, spec)
    if card is None:
        return 0
    now = timezone.now()
    drill = card.incident
    note = (
        f"Rehearsed in drill #{drill.pk} on {card.environment} (runbook "
        f"v{card.runbook_version.number}), which passed with score {card.score} on "
        f"{timezone.localtime(card.computed_at):%Y-%m-%d %H:%M}."
    )
    confirmed = 0
    for safeguard in spec.safeguards:
        if safeguard.category != CATEGORY or safeguard.check is not None:
            continue
        valid_until = card.computed_at + timedelta(minutes=safeguard.valid_for_minutes)
        if valid_until <= now:
            continue
        SafeguardConfirmation.objects.create(
            incident=incident,
            safeguard_id=safeguard.id,
            confirmed_by=drill.opened_by,
            confirmed_at=card.computed_at,
            valid_until=valid_until,
            note=note,
            evidence_incident=drill,
        )
        record(
            incident,
            TimelineEntry.Kind.SAFEGUARD_CONFIRMED,
            f"Safeguard confirmed: {safeguard.title} — {note}",
            actor=None,
            change=change,
            data={
                "safeguard": safeguard.id,
                "valid_until": valid_until.isoformat(),
                "note": note,
                "evidence_incident": drill.pk,
            },
        )
        confirmed += 1
    if confirmed:
        change.safeguards = True
    return confirmed
