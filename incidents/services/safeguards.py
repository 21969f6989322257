"""Confirming manual safeguards, and the gate a run of a step passes (or the IC overrides).

See ``incidents.gates`` for what "holds" means. Every refusal names the safeguards in
the way and what would clear them.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from incidents import gates
from incidents.access import access_for, can_confirm_safeguard, can_override_safeguards
from incidents.broadcast import publish
from incidents.events import Change
from incidents.models import Incident, SafeguardConfirmation, Step, StepRun, TimelineEntry
from incidents.services.errors import ServiceError
from incidents.services.locking import lock_incident
from incidents.services.timeline import record

NOTE_MAX_LENGTH = 2000
REASON_MAX_LENGTH = 2000


def confirm_safeguard(
    *, incident_id: int, safeguard_id: str, by: User, note: str = ""
) -> SafeguardConfirmation:
    """A person confirms a manual safeguard holds, for the period the runbook sets."""
    note = note.strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise ServiceError(f"A note is at most {NOTE_MAX_LENGTH} characters.")
    with transaction.atomic():
        incident = lock_incident(incident_id)
        spec = gates.safeguard_specs(incident).get(safeguard_id)
        if spec is None:
            raise ServiceError(f"This runbook has no safeguard {safeguard_id!r}.")
        if spec.check is not None:
            raise ServiceError(
                f"{spec.title} is checked by pre-flight, not confirmed by hand: run pre-flight."
            )
        if not can_confirm_safeguard(access_for(by, incident), spec.owner):
            raise ServiceError(
                "Only the incident commander or the safeguard's owner role may confirm it."
            )
        now = timezone.now()
        confirmation = SafeguardConfirmation.objects.create(
            incident=incident,
            safeguard_id=spec.id,
            confirmed_by=by,
            confirmed_at=now,
            valid_until=now + timedelta(minutes=spec.valid_for_minutes),
            note=note,
        )
        change = Change(incident.pk, safeguards=True, steps=_gated_steps(incident, spec.id))
        record(
            incident,
            TimelineEntry.Kind.SAFEGUARD_CONFIRMED,
            f"Safeguard confirmed: {spec.title}" + (f" — {note}" if note else ""),
            actor=by,
            change=change,
            data={
                "safeguard": spec.id,
                "valid_until": confirmation.valid_until.isoformat(),
                "note": note,
            },
        )
        publish(change)
    return confirmation


def _gated_steps(incident: Incident, safeguard_id: str) -> set[int]:
    return {
        pk
        for pk, keys in Step.objects.filter(incident=incident)
        .exclude(safeguards=[])
        .values_list("pk", "safeguards")
        if safeguard_id in keys
    }


def check_gate(step: Step, *, by: User, override_reason: str) -> list[gates.GateItem]:
    """Refuse unless every safeguard the step names holds, or the IC overrides with a reason.

    Returns the safeguards overridden (empty when the gate was clear). Callers hold
    the incident lock and record the override (``record_override``) with the run.
    """
    if not step.safeguards:
        return []
    in_the_way = gates.held(gates.gate_for(step))
    if not in_the_way:
        return []
    reason = override_reason.strip()
    if not reason:
        raise ServiceError(
            f"{step.title} is held by its safeguards: {gates.describe(in_the_way)}. "
            "Confirm them or run pre-flight again; the incident commander may override "
            "with a reason."
        )
    if len(reason) > REASON_MAX_LENGTH:
        raise ServiceError(f"A reason is at most {REASON_MAX_LENGTH} characters.")
    if not can_override_safeguards(access_for(by, step.incident)):
        raise ServiceError("Only the incident commander may start a step over its safeguards.")
    return in_the_way


def record_override(
    run: StepRun, overridden: list[gates.GateItem], *, by: User, reason: str, change: Change
) -> None:
    """The override on the run and on the timeline (the postmortem reads it there)."""
    run.safeguard_override_reason = reason.strip()
    run.save(update_fields=["safeguard_override_reason"])
    record(
        run.incident,
        TimelineEntry.Kind.SAFEGUARDS_OVERRIDDEN,
        f"Safeguards overridden for {run.step.title}: {gates.describe(overridden)}. "
        f"Reason: {reason.strip()}",
        actor=by,
        change=change,
        step=run.step,
        data={
            "run": run.pk,
            "reason": reason.strip(),
            "safeguards": [{"id": i.safeguard_id, "state": i.state} for i in overridden],
        },
    )
