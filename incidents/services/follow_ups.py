"""Follow-ups: due dates at resolve, proposals from the record, accepting, dismissing, editing.

Follow-ups outlive the incident: they are edited after it resolved, so these
services lock the incident without requiring it to be active.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from common.capabilities import can_use_ripcord
from incidents.access import access_for, can_edit_follow_up, can_triage_follow_ups
from incidents.broadcast import publish
from incidents.events import Change
from incidents.models import CheckResult, FollowUp, Incident, Step, TimelineEntry
from incidents.services.errors import ServiceError
from incidents.services.locking import lock_incident
from incidents.services.timeline import record
from runbooks.specs import INCIDENT_COMMANDER

NOTES_MAX_LENGTH = 4000
UNSET = object()


def set_due_dates(incident: Incident) -> None:
    """At resolve: each follow-up without a due date is due ``due_days`` after it."""
    assert incident.resolved_at is not None
    resolved_on = timezone.localdate(incident.resolved_at)
    for follow_up in FollowUp.objects.filter(incident=incident, due_on__isnull=True):
        follow_up.due_on = resolved_on + timedelta(days=follow_up.due_days)
        follow_up.save(update_fields=["due_on"])


def propose_from_record(incident: Incident) -> list[FollowUp]:
    """What the record says needs a follow-up, proposed for the IC to accept or dismiss.

    Each skipped step, each step started over its safeguards, each validation whose
    latest check did not pass, each phase that ended past its window, and a resolve
    over unmet criteria. Idempotent: a key already proposed is not proposed again.
    Callers hold the incident lock.
    """
    days = incident.runbook_version.parsed().follow_up_due_days
    proposals: list[tuple[str, str, str, str]] = []  # key, title, owner role, origin
    for step in Step.objects.filter(incident=incident, state=Step.State.SKIPPED):
        proposals.append(
            (
                f"skip-{step.key}",
                f"Follow up on the skipped step: {step.title}",
                step.owner_role,
                f"Step skipped: {step.skip_reason}"[:300],
            )
        )
    overridden = TimelineEntry.objects.filter(
        incident=incident, kind=TimelineEntry.Kind.SAFEGUARDS_OVERRIDDEN
    ).select_related("step")
    for entry in overridden:
        title = entry.step.title if entry.step else "a step"
        owner = entry.step.owner_role if entry.step else INCIDENT_COMMANDER
        key = f"override-{entry.step.key if entry.step else entry.pk}"
        reason = entry.data.get("reason", "")
        proposals.append(
            (
                key,
                f"Review the safeguards overridden for {title}",
                owner,
                f"Override: {reason}"[:300],
            )
        )
    latest: dict[str, CheckResult] = {}
    for result in CheckResult.objects.filter(incident=incident).order_by("-pk"):
        latest.setdefault(result.validation_id, result)
    for validation_id, result in latest.items():
        if result.result != CheckResult.Result.PASS:
            proposals.append(
                (
                    f"check-{validation_id}",
                    f"Find out why the check failed: {result.title}",
                    INCIDENT_COMMANDER,
                    f"Check {result.result}: {result.summary}"[:300],
                )
            )
    for phase in incident.phases.filter(ended_at__isnull=False):
        assert phase.ended_at is not None
        over = (phase.ended_at - phase.planned_end_at).total_seconds() / 60
        if over >= 1:
            proposals.append(
                (
                    f"overrun-{phase.key}",
                    f"Review why {phase.title} overran its budget",
                    INCIDENT_COMMANDER,
                    f"Phase overran by {round(over)} min",
                )
            )
    if incident.resolve_override_reason:
        proposals.append(
            (
                "resolve-override",
                "Close the success criteria left unmet at resolve",
                INCIDENT_COMMANDER,
                f"Resolved over unmet criteria: {incident.resolve_override_reason}"[:300],
            )
        )
    existing = set(FollowUp.objects.filter(incident=incident).values_list("key", flat=True))
    position = (
        FollowUp.objects.filter(incident=incident).aggregate(n=Max("position"))["n"] or 0
    ) + 1
    created = []
    for key, title, owner, origin in proposals:
        key = key[:63]
        if key in existing:
            continue
        existing.add(key)
        created.append(
            FollowUp(
                incident=incident,
                key=key,
                title=title[:300],
                owner_role=owner,
                position=position,
                due_days=days,
                proposal=FollowUp.Proposal.PROPOSED,
                origin=origin,
            )
        )
        position += 1
    return FollowUp.objects.bulk_create(created)


def _locked(follow_up_id: int) -> FollowUp:
    row = FollowUp.objects.filter(pk=follow_up_id).only("incident_id").first()
    if row is None:
        raise ServiceError("No such follow-up.")
    incident = lock_incident(row.incident_id, require_active=False)
    follow_up = FollowUp.objects.select_related("assignee").get(pk=follow_up_id)
    follow_up.incident = incident
    return follow_up


def _assignee(user_id: int | None) -> User | None:
    if user_id is None:
        return None
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not can_use_ripcord(user):
        raise ServiceError("Assign a follow-up to an active Ripcord user.")
    assert isinstance(user, User)
    return user


def triage_follow_up(
    *, follow_up_id: int, by: User, accept: bool, assignee_id: int | None = None
) -> FollowUp:
    """The IC accepts a proposed follow-up (optionally assigning it) or dismisses it."""
    with transaction.atomic():
        follow_up = _locked(follow_up_id)
        if not can_triage_follow_ups(access_for(by, follow_up.incident)):
            raise ServiceError("Only the incident commander accepts or dismisses proposals.")
        if follow_up.proposal != FollowUp.Proposal.PROPOSED:
            raise ServiceError(
                f"This follow-up is already {follow_up.get_proposal_display().lower()}.",
                conflict=True,
            )
        follow_up.proposal = FollowUp.Proposal.ACCEPTED if accept else FollowUp.Proposal.DISMISSED
        if accept and assignee_id is not None:
            follow_up.assignee = _assignee(assignee_id)
        follow_up.updated_at, follow_up.updated_by = timezone.now(), by
        follow_up.save()
        verb = "accepted" if accept else "dismissed"
        who = f", assigned to {follow_up.assignee.get_username()}" if follow_up.assignee else ""
        change = Change(follow_up.incident_id)
        record(
            follow_up.incident,
            TimelineEntry.Kind.FOLLOW_UP,
            f"Follow-up {verb}: {follow_up.title}{who}",
            actor=by,
            change=change,
            data={"follow_up": follow_up.pk, "proposal": follow_up.proposal},
        )
        publish(change)
    return follow_up


def update_follow_up(
    *,
    follow_up_id: int,
    by: User,
    assignee_id: int | object | None = UNSET,
    due_on: date | object | None = UNSET,
    status: str | object = UNSET,
    link: str | object = UNSET,
    notes: str | object = UNSET,
) -> FollowUp:
    """Change what is given (assignee, due date, status, link, notes); the rest stays."""
    with transaction.atomic():
        follow_up = _locked(follow_up_id)
        acc = access_for(by, follow_up.incident)
        if not can_edit_follow_up(
            acc, assignee_id=follow_up.assignee_id, owner_role=follow_up.owner_role
        ):
            raise ServiceError(
                "Only the incident commander, the assignee or the owner role edits a follow-up."
            )
        changed = []
        if assignee_id is not UNSET:
            follow_up.assignee = _assignee(assignee_id)  # type: ignore[arg-type]
            changed.append("assignee")
        if due_on is not UNSET:
            follow_up.due_on = due_on  # type: ignore[assignment]
            changed.append("due date")
        if status is not UNSET:
            if status not in FollowUp.Status.values:
                raise ServiceError(f"Unknown status {status!r}.")
            follow_up.status = str(status)
            changed.append("status")
        if link is not UNSET:
            link = str(link).strip()
            if link and not link.startswith(("http://", "https://")):
                raise ServiceError("A link starts with http:// or https://.")
            follow_up.link = link[:500]
            changed.append("link")
        if notes is not UNSET:
            if len(str(notes)) > NOTES_MAX_LENGTH:
                raise ServiceError(f"Notes are at most {NOTES_MAX_LENGTH} characters.")
            follow_up.notes = str(notes)
            changed.append("notes")
        if not changed:
            return follow_up
        follow_up.updated_at, follow_up.updated_by = timezone.now(), by
        follow_up.save()
        change = Change(follow_up.incident_id)
        who = follow_up.assignee.get_username() if follow_up.assignee else "nobody"
        due = follow_up.due_on.isoformat() if follow_up.due_on else "no date"
        record(
            follow_up.incident,
            TimelineEntry.Kind.FOLLOW_UP,
            f"Follow-up updated ({', '.join(changed)}): {follow_up.title} — "
            f"{follow_up.get_status_display()}, {who}, due {due}",
            actor=by,
            change=change,
            data={"follow_up": follow_up.pk, "changed": changed},
        )
        publish(change)
    return follow_up
