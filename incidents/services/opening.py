from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from incidents import dispatch
from incidents.access import can_open_incident
from incidents.broadcast import publish
from incidents.clocks import ClockState
from incidents.events import Change
from incidents.models import (
    Criterion,
    FollowUp,
    Incident,
    IncidentRole,
    Phase,
    RoleAssignment,
    Step,
    TimelineEntry,
)
from incidents.parameters import check_parameters, describe_problems
from incidents.services.drill_evidence import carry_drill_evidence
from incidents.services.errors import ServiceError
from incidents.services.timeline import record
from runbooks.models import RunbookVersion
from runbooks.specs import INCIDENT_COMMANDER, EnvironmentSpec, RunbookSpec

TITLE_MAX_LENGTH = 200
OPEN_KEY_MAX_LENGTH = 64
IC_TITLE = "Incident commander"
IC_RESPONSIBILITY = "Coordinates the rollback, assigns roles, decides."


def production_refusal(
    environment: EnvironmentSpec, *, is_drill: bool, confirmation: str
) -> tuple[str, str] | None:
    """Why opening on this environment is refused, as (field, message), or None.

    A drill never runs against an environment marked production (its steps are
    real); a real incident there needs the commander to type the environment's
    name, so that production is never picked by a slip of the mouse.
    """
    if not environment.is_production:
        return None
    if is_drill:
        return (
            "is_drill",
            f"Drills are refused on {environment.id!r}: it is marked production. "
            "Rehearse on a staging or demo environment.",
        )
    if confirmation.strip() != environment.id:
        return (
            "confirm_environment",
            f"{environment.id!r} is a production environment: type its name "
            f"({environment.id}) to confirm opening a real incident there.",
        )
    return None


def open_incident(
    *,
    version: RunbookVersion,
    environment: str,
    title: str,
    severity: str,
    is_drill: bool,
    opened_by: User,
    open_key: str = "",
    confirm_environment: str = "",
    parameters: Mapping[str, str] | None = None,
) -> Incident:
    """Open an incident from a runbook version; the opener becomes incident commander.

    The version's roles, phases and steps are copied into the incident's own rows
    in this one transaction: a failure leaves nothing behind. With an ``open_key``
    (see ``open_incident_once``) the same key opens one incident, however often sent.
    On a production environment a drill is refused, and a real incident needs
    ``confirm_environment`` to be the environment's name (``production_refusal``).
    ``parameters`` are checked against the runbook's (``incidents.parameters``) and
    recorded on the timeline.
    """
    incident, _ = open_incident_once(
        version=version,
        environment=environment,
        title=title,
        severity=severity,
        is_drill=is_drill,
        opened_by=opened_by,
        open_key=open_key,
        confirm_environment=confirm_environment,
        parameters=parameters,
    )
    return incident


def open_incident_once(
    *,
    version: RunbookVersion,
    environment: str,
    title: str,
    severity: str,
    is_drill: bool,
    opened_by: User,
    open_key: str = "",
    confirm_environment: str = "",
    parameters: Mapping[str, str] | None = None,
) -> tuple[Incident, bool]:
    """``open_incident``, and whether it opened one: False when ``open_key`` had already
    opened an incident for this person (a form sent twice, back and resubmit, an API
    retry), which is returned instead. Two requests at once with one key open one
    incident too: the second waits on the unique index and then finds the first's.
    """
    if len(open_key) > OPEN_KEY_MAX_LENGTH:
        raise ServiceError(f"An idempotency key is at most {OPEN_KEY_MAX_LENGTH} characters.")
    if open_key and (found := _opened_with(opened_by, open_key)) is not None:
        return found, False
    try:
        return _open(
            version=version,
            environment=environment,
            title=title,
            severity=severity,
            is_drill=is_drill,
            opened_by=opened_by,
            open_key=open_key,
            confirm_environment=confirm_environment,
            parameters=parameters,
        ), True
    except IntegrityError:
        if open_key and (found := _opened_with(opened_by, open_key)) is not None:
            return found, False
        raise


def _opened_with(opened_by: User, open_key: str) -> Incident | None:
    return Incident.objects.filter(opened_by=opened_by, open_key=open_key).first()


def _open(
    *,
    version: RunbookVersion,
    environment: str,
    title: str,
    severity: str,
    is_drill: bool,
    opened_by: User,
    open_key: str,
    confirm_environment: str,
    parameters: Mapping[str, str] | None,
) -> Incident:
    if not can_open_incident(opened_by):
        raise ServiceError("Only commanders may open incidents.")
    spec = version.parsed()
    env = next((e for e in spec.environments if e.id == environment), None)
    if env is None:
        raise ServiceError(f"Runbook {spec.id} has no environment {environment!r}.")
    refusal = production_refusal(env, is_drill=is_drill, confirmation=confirm_environment)
    if refusal is not None:
        raise ServiceError(refusal[1])
    if severity not in Incident.Severity.values:
        raise ServiceError(f"Unknown severity {severity!r}.")
    title = title.strip()
    if not title:
        raise ServiceError("An incident needs a title.")
    if len(title) > TITLE_MAX_LENGTH:
        raise ServiceError(f"A title is at most {TITLE_MAX_LENGTH} characters.")
    values, problems = check_parameters(spec, parameters or {})
    if problems:
        raise ServiceError(describe_problems(problems) + ".")

    now = timezone.now()
    with transaction.atomic():
        incident = Incident.objects.create(
            title=title,
            runbook_version=version,
            environment=environment,
            severity=severity,
            is_drill=is_drill,
            opened_by=opened_by,
            opened_at=now,
            open_key=open_key,
            parameters=values,
        )
        roles = _copy_roles(incident, spec)
        _copy_phases_and_steps(incident, spec, now)
        _copy_criteria_and_follow_ups(incident, spec)
        RoleAssignment.objects.create(
            role=roles[INCIDENT_COMMANDER],
            incident=incident,
            user=opened_by,
            assigned_by=opened_by,
            assigned_at=now,
        )
        change = Change(incident.pk, header=True, roles=True)
        drill = " (drill)" if is_drill else ""
        record(
            incident,
            TimelineEntry.Kind.OPENED,
            f"Opened{drill} from runbook {spec.id} v{version.number} in {environment}; "
            f"{opened_by.get_username()} is incident commander.",
            actor=opened_by,
            change=change,
        )
        if values:
            record(
                incident,
                TimelineEntry.Kind.PARAMETERS,
                "Parameters: " + ", ".join(f"{name}={value}" for name, value in values.items()),
                actor=opened_by,
                change=change,
                data={"parameters": values},
            )
        carry_drill_evidence(incident, spec, change)  # a passing staging drill, as evidence
        publish(change)
        enqueue_preflight(incident.pk)
        enqueue_snapshot(incident.pk)
    return incident


def enqueue_snapshot(incident_id: int) -> None:
    """Fingerprint the target as the incident opens: the baseline "incident_snapshot" checks use."""
    dispatch.send_on_commit(dispatch.TAKE_SNAPSHOT, incident_id)


def enqueue_preflight(incident_id: int) -> None:
    """Check the safeguards on a worker once the incident is committed (and on demand)."""
    dispatch.send_on_commit(dispatch.RUN_PREFLIGHT, incident_id)


def _copy_roles(incident: Incident, spec: RunbookSpec) -> dict[str, IncidentRole]:
    declared = next((r for r in spec.roles if r.id == INCIDENT_COMMANDER), None)
    rows = [
        IncidentRole(
            incident=incident,
            key=INCIDENT_COMMANDER,
            title=declared.title if declared else IC_TITLE,
            responsibility=declared.responsibility if declared else IC_RESPONSIBILITY,
            position=0,
        )
    ]
    rows += [
        IncidentRole(
            incident=incident,
            key=role.id,
            title=role.title,
            responsibility=role.responsibility,
            position=i,
        )
        for i, role in enumerate((r for r in spec.roles if r.id != INCIDENT_COMMANDER), start=1)
    ]
    created = IncidentRole.objects.bulk_create(rows)
    return {role.key: role for role in created}


def _copy_phases_and_steps(incident: Incident, spec: RunbookSpec, now: datetime) -> None:
    # The first phase starts with the incident; the others when the one before exits.
    phases = Phase.objects.bulk_create(
        Phase(
            incident=incident,
            key=p.id,
            title=p.title,
            description=p.description,
            position=i,
            starts_at_minutes=p.starts_at_minutes,
            ends_at_minutes=p.ends_at_minutes,
            planned_start_at=now + timedelta(minutes=p.starts_at_minutes),
            planned_end_at=now + timedelta(minutes=p.ends_at_minutes),
            started_at=now if i == 0 else None,
            clock_state=ClockState.ON_TIME if i == 0 else ClockState.NOT_STARTED,
        )
        for i, p in enumerate(spec.phases)
    )
    Step.objects.bulk_create(
        Step(
            incident=incident,
            phase=phase,
            key=s.id,
            title=s.title,
            description=s.description,
            position=j,
            owner_role=s.owner,
            kind=s.kind.value,
            command=s.command,
            requires=list(s.requires),
            approval_role=s.approval or "",
            is_idempotent=s.idempotent,
            is_optional=s.optional,
            timeout_seconds=s.timeout_seconds,
            queue=s.queue or "",
            needs=list(s.needs),
            safeguards=list(s.safeguards),
        )
        for phase, p in zip(phases, spec.phases, strict=True)
        for j, s in enumerate(p.steps)
    )


def _copy_criteria_and_follow_ups(incident: Incident, spec: RunbookSpec) -> None:
    Criterion.objects.bulk_create(
        Criterion(
            incident=incident,
            key=c.id,
            title=c.title,
            position=i,
            validations=list(c.validations),
            signoff_role=c.signoff or "",
            metrics=[m.model_dump() for m in c.metrics],
        )
        for i, c in enumerate(spec.success_criteria)
    )
    FollowUp.objects.bulk_create(
        FollowUp(
            incident=incident,
            key=a.id,
            title=a.title,
            description=a.description,
            owner_role=a.owner,
            position=i,
            due_days=a.due_days if a.due_days is not None else spec.follow_up_due_days,
            origin="plan",
        )
        for i, a in enumerate(spec.post_actions)
    )
