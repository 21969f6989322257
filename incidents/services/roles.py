from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from incidents.access import can_be_assigned
from incidents.broadcast import publish
from incidents.events import Change
from incidents.models import IncidentRole, RoleAssignment, Step, TimelineEntry
from incidents.services.errors import ServiceError
from incidents.services.locking import lock_incident
from incidents.services.timeline import record
from runbooks.specs import INCIDENT_COMMANDER


def assign_role(*, incident_id: int, role_key: str, user_id: int, by: User) -> RoleAssignment:
    """Put a person on a role. Assigning incident commander hands the incident over.

    Idempotent: assigning someone who already holds the role changes nothing and
    records nothing.
    """
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise ServiceError("No such active user.")
    with transaction.atomic():
        incident = lock_incident(incident_id)
        role = IncidentRole.objects.filter(incident=incident, key=role_key).first()
        if role is None:
            raise ServiceError(f"This incident has no role {role_key!r}.")
        owns_steps = Step.objects.filter(incident=incident, owner_role=role_key).exists()
        if not can_be_assigned(user, role_key, role_owns_steps=owns_steps):
            raise ServiceError(f"{user.get_username()} may not hold the role {role.title}.")
        existing = RoleAssignment.objects.filter(role=role, user=user).first()
        if existing is not None:
            return existing
        change = Change(incident.pk, roles=True)
        previous = list(RoleAssignment.objects.filter(role=role).select_related("user"))
        if role_key == INCIDENT_COMMANDER:
            # One commander at a time: the new one replaces the old (handover).
            RoleAssignment.objects.filter(role=role).delete()
            names = ", ".join(a.user.get_username() for a in previous) or "nobody"
            text = f"Incident commander handed over from {names} to {user.get_username()}."
        else:
            text = f"{user.get_username()} assigned as {role.title}."
        assignment = RoleAssignment.objects.create(
            role=role, incident=incident, user=user, assigned_by=by, assigned_at=timezone.now()
        )
        record(
            incident,
            TimelineEntry.Kind.ROLE_ASSIGNED,
            text,
            actor=by,
            change=change,
            data={"role": role_key, "user": user.get_username()},
        )
        publish(change)
    return assignment


def unassign_role(*, incident_id: int, assignment_id: int, by: User) -> None:
    """Take a person off a role. The commander role is never left empty: hand it over."""
    with transaction.atomic():
        incident = lock_incident(incident_id)
        assignment = (
            RoleAssignment.objects.select_related("role", "user")
            .filter(pk=assignment_id, incident=incident)
            .first()
        )
        if assignment is None:
            raise ServiceError("That assignment no longer exists.", conflict=True)
        if assignment.role.key == INCIDENT_COMMANDER:
            raise ServiceError("Hand the commander role to someone else instead.")
        change = Change(incident.pk, roles=True)
        assignment.delete()
        record(
            incident,
            TimelineEntry.Kind.ROLE_UNASSIGNED,
            f"{assignment.user.get_username()} removed from {assignment.role.title}.",
            actor=by,
            change=change,
            data={"role": assignment.role.key, "user": assignment.user.get_username()},
        )
        publish(change)
