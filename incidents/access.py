"""Who may do what on an incident: the single rule module (README, "Who may do what").

Every HTTP view, API endpoint and websocket consumer asks this module; none
re-implements a rule. An ``IncidentAccess`` is computed once per request (two
small queries at most) and answers every question for that user and incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from django.core.exceptions import PermissionDenied
from django.db.models import FilteredRelation, Q
from django.http import Http404

from common.capabilities import (
    COMMANDERS,
    RESPONDERS,
    VIEWERS,
    AnyUser,
    can_open_incident,
    can_use_ripcord,
    is_superuser,
    user_groups,
)
from common.compiled import Compiled
from incidents.models import Criterion, Incident, RoleAssignment, Step, StepRun
from runbooks.specs import INCIDENT_COMMANDER

Audience = Literal["act", "view"]

SIGN_OFF_REFUSED = (
    "Only someone holding the criterion's sign-off role may sign it off; the incident "
    "commander may resolve over a missing sign-off, giving a reason."
)

__all__ = ["can_open_incident", "can_use_ripcord"]  # global rules live in common.capabilities


def can_be_assigned(user: AnyUser, role_key: str, *, role_owns_steps: bool = True) -> bool:
    """Commanders may hold any role; responders any but incident commander.

    Viewers may hold only a role that owns no step (the product manager, who
    signs off that stakeholders were told): holding it lets them sign off its
    criteria, and still never act on a step or see logs.
    """
    if not user.is_active:
        return False
    groups = user_groups(user)
    if role_key == INCIDENT_COMMANDER:
        return is_superuser(user) or COMMANDERS in groups
    if is_superuser(user) or groups & {COMMANDERS, RESPONDERS}:
        return True
    return VIEWERS in groups and not role_owns_steps


@dataclass(frozen=True)
class IncidentAccess:
    incident_id: int
    user_id: int | None
    is_active_incident: bool
    groups: frozenset[str]
    roles: frozenset[str]
    is_superuser: bool = False

    @property
    def is_commander(self) -> bool:
        """Incident commander of this incident (superusers act as one)."""
        return self.is_superuser or INCIDENT_COMMANDER in self.roles

    @property
    def can_view(self) -> bool:
        return (
            self.is_superuser
            or bool(self.roles)
            or bool(self.groups & {COMMANDERS, RESPONDERS, VIEWERS})
        )

    @property
    def may_act(self) -> bool:
        """A commander or responder by capability: never a viewer.

        Group, not role: a viewer (the PM) may hold a role, a sign-off or one kept
        from before they became a viewer, and is still read-only everywhere.
        """
        return self.is_commander or bool(self.groups & {COMMANDERS, RESPONDERS})

    @property
    def can_see_logs(self) -> bool:
        """Logs, variables and step details: everyone who may act, never viewers."""
        return self.may_act

    @property
    def audience(self) -> Audience:
        return "act" if self.can_see_logs else "view"

    @property
    def can_manage(self) -> bool:
        """Assign roles, advance phases, publish status, resolve."""
        return self.is_active_incident and self.is_commander

    @property
    def can_add_note(self) -> bool:
        return self.is_active_incident and self.can_see_logs

    def can_act_on(self, step: Step) -> bool:
        """Tick, skip, undo, run or cancel this step."""
        if not self.is_active_incident:
            return False
        return self.is_commander or (self.may_act and step.owner_role in self.roles)

    def can_send_communication(self, owner_role: str, *, role_is_held: bool) -> bool:
        """Send a communication item (comms): whoever holds its owner role, viewers too
        (the product manager); the IC for the IC's items, or when nobody holds the role."""
        if not self.is_active_incident:
            return False
        if owner_role in self.roles:
            return True
        return self.is_commander and (owner_role == INCIDENT_COMMANDER or not role_is_held)

    @property
    def can_override_checks(self) -> bool:
        """Skip a validation step whose checks failed: the IC only, as an override on the record."""
        return self.is_active_incident and self.is_commander

    def can_sign_off(self, criterion: Criterion) -> bool:
        """A criterion's sign-off: only whoever holds its sign-off role (the IC too, if assigned it).

        The record then says "Product manager: <who>" truthfully. The IC's way
        around a missing sign-off is resolving over it with a reason.
        """
        if not self.is_active_incident or not criterion.signoff_role:
            return False
        return criterion.signoff_role in self.roles

    def can_measure(self, criterion: Criterion) -> bool:
        """ "Measure now" a criterion's metric checks: the IC, or a holder of its sign-off role."""
        if not self.is_active_incident or not criterion.metrics:
            return False
        return self.is_commander or bool(
            criterion.signoff_role and criterion.signoff_role in self.roles
        )

    @property
    def may_approve_as_commander(self) -> bool:
        """A commander (by group) who is not this incident's IC: a second pair of eyes.

        A gate on the incident commander is a gate on a commander's judgement; any
        other commander may open it, so the IC's own request need not wait for nobody.
        """
        return self.is_active_incident and (self.is_superuser or COMMANDERS in self.groups)

    def can_approve(self, step: Step, *, requested_by_id: int | None) -> bool:
        """Approve a gated run: the gate's role or the IC (or, for a gate on the IC, any
        other commander), never the person who asked."""
        if not self.is_active_incident or requested_by_id == self.user_id:
            return False
        holds_gate = bool(step.approval_role) and step.approval_role in self.roles
        if self.is_commander or (self.may_act and holds_gate):
            return True
        return step.approval_role == INCIDENT_COMMANDER and self.may_approve_as_commander

    def can_self_approve(
        self, step: Step, *, requested_by_id: int | None, other_commanders: int
    ) -> bool:
        """The IC opens the gate on their own request: only a gate on the incident
        commander, and only while no other commander exists who could approve it.

        Four eyes stay the rule: with another active commander, the IC asks them
        (``can_approve``). With none, the run would wait for an approval nobody can
        give; the IC may then approve it, with a reason, recorded as an override on
        the timeline and in the postmortem (``services.runs.self_approve_run``).
        """
        return (
            self.is_active_incident
            and self.is_commander
            and requested_by_id is not None
            and requested_by_id == self.user_id
            and step.approval_role == INCIDENT_COMMANDER
            and other_commanders == 0
        )


def _access(
    user: AnyUser, incident_id: int, *, is_active: bool, roles: frozenset[str]
) -> IncidentAccess:
    if not user.is_authenticated:
        return IncidentAccess(incident_id, None, is_active, frozenset(), frozenset())
    return IncidentAccess(
        incident_id=incident_id,
        user_id=user.pk,
        is_active_incident=is_active,
        groups=user_groups(user),
        roles=roles,
        is_superuser=is_superuser(user),
    )


_ROLE_KEYS = Compiled[str](
    lambda incident_id, user_id: RoleAssignment.objects.filter(
        incident_id=incident_id, user_id=user_id
    ).values_list("role__key", flat=True)
)


def access_for(user: AnyUser, incident: Incident) -> IncidentAccess:
    roles: frozenset[str] = frozenset()
    if user.is_authenticated:
        roles = frozenset(_ROLE_KEYS(incident.pk, user.pk))
    return _access(user, incident.pk, is_active=incident.is_active, roles=roles)


_STATUS_AND_ROLES = Compiled[tuple[str, str | None]](
    lambda incident_id, user_id: (
        Incident.objects.filter(pk=incident_id)
        .annotate(mine=FilteredRelation("assignments", condition=Q(assignments__user_id=user_id)))
        .values_list("status", "mine__role__key")
        .order_by()
    )
)


def access_to(user: AnyUser, incident_id: int) -> IncidentAccess | None:
    """``access_for`` from the incident's id alone, or None if there is no such incident.

    The incident's status and the user's roles on it come in one query (a left join
    on the user's assignments): the websocket's connect, which a reconnect storm
    repeats for every open page, needs nothing else of the incident.
    """
    # Nobody's id is 0: an anonymous user joins no assignment.
    rows = _STATUS_AND_ROLES(incident_id, user.pk if user.is_authenticated else 0)
    if not rows:
        return None
    roles = frozenset(key for _, key in rows if key is not None)
    return _access(user, incident_id, is_active=rows[0][0] == Incident.Status.ACTIVE, roles=roles)


_INCIDENT = Compiled[Incident](
    lambda incident_id: (
        Incident.objects.select_related("runbook_version__runbook")
        .defer("runbook_version__spec")
        .filter(pk=incident_id)
        .order_by("pk")[:1]
    )
)


def get_incident_for_user(user: AnyUser, incident_id: int) -> tuple[Incident, IncidentAccess]:
    """The incident and the user's access to it; 404 if the user may not see it at all."""
    # The runbook's spec (330 KB of JSON at 1,000 steps, ~6 ms to decode) is not read:
    # what a page needs of it comes from RunbookVersion.parsed(), cached per process.
    incident = _INCIDENT.first(incident_id)
    if incident is None:
        raise Http404("No such incident")
    access = access_for(user, incident)
    if not access.can_view:
        raise Http404("No such incident")  # outsiders do not learn that it exists
    return incident, access


def require(allowed: bool, message: str = "You may not do this on this incident.") -> None:
    """Refuse a write the rules above do not allow (403), whatever the page showed."""
    if not allowed:
        raise PermissionDenied(message)


ACT_ON_STEP = "Only the step's owner role or the commander may do this."


_STEP_WITH_INCIDENT = Compiled[
    Step
](
    lambda step_id, incident_id: (
        Step.objects.select_related("incident__runbook_version__runbook")
        .defer("incident__runbook_version__spec")  # hundreds of KB a tick does not read
        .filter(pk=step_id, incident_id=incident_id)
        .order_by("pk")[:1]
    )
)


def get_step_for_user(
    user: AnyUser, incident_id: int, step_id: int, refusal: str = ACT_ON_STEP
) -> tuple[Step, IncidentAccess]:
    """A step the user may act on, and their access: 404 as for its incident, 403 when refused."""
    # The step with its incident in one query (a tick's hot path); without a step, the
    # incident's own answer (404 for either, the incident's first).
    step = _STEP_WITH_INCIDENT.first(step_id, incident_id)
    if step is None:
        get_incident_for_user(user, incident_id)
        raise Http404("No such step")
    access = access_for(user, step.incident)
    if not access.can_view:
        raise Http404("No such incident")  # outsiders do not learn that it exists
    require(access.can_act_on(step), refusal)
    return step, access


def get_run_for_user(
    user: AnyUser, incident_id: int, run_id: int
) -> tuple[StepRun, IncidentAccess]:
    """A run of an incident the user may see, and their access (404 otherwise).

    What the user may do with the run (approve, cancel, read its log) is the
    caller's question to ``IncidentAccess``.
    """
    incident, access = get_incident_for_user(user, incident_id)
    run = (
        StepRun.objects.select_related("step", "requested_by", "approved_by")
        .filter(pk=run_id, incident=incident)
        .first()
    )
    if run is None:
        raise Http404("No such run")
    return run, access


# --- drills11: safeguards that gate, parameters, follow-ups ------------------


def can_confirm_safeguard(access: IncidentAccess, owner_role: str | None) -> bool:
    """Confirm a manual safeguard: the IC, or whoever holds the safeguard's owner role.

    Never a viewer, even one holding the role: a confirmation lets a destructive step start.
    """
    if not access.is_active_incident:
        return False
    return access.is_commander or (
        access.may_act and owner_role is not None and owner_role in access.roles
    )


def can_override_safeguards(access: IncidentAccess) -> bool:
    """Start a step over failed or unconfirmed safeguards, with a reason: the IC only."""
    return access.is_active_incident and access.is_commander


def can_triage_follow_ups(access: IncidentAccess) -> bool:
    """Accept or dismiss the follow-ups Ripcord proposed: the IC, before or after resolve."""
    return access.is_commander


def can_edit_follow_up(access: IncidentAccess, *, assignee_id: int | None, owner_role: str) -> bool:
    """Change a follow-up (assignee, due date, status, link, notes), also after resolve:
    the IC, its assignee, or a holder of its owner role; never a viewer."""
    if access.is_commander:
        return True
    if not access.may_act:
        return False
    return (assignee_id is not None and assignee_id == access.user_id) or owner_role in access.roles
