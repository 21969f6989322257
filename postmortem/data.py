"""Read an incident's whole record into a ``Postmortem`` (a fixed number of queries)."""

from __future__ import annotations

import math
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse
from django.utils import timezone

from incidents import selectors
from incidents.clocks import ClockState, clock_state
from incidents.criteria import criteria_status
from incidents.models import FollowUp, Incident, Step, TimelineEntry
from incidents.selectors import PhaseView
from incidents.templatetags.incident_tags import command_summary
from postmortem.communications import communications
from postmortem.types import (
    AlertRow,
    Audience,
    CriterionRow,
    FollowUpRow,
    Handover,
    PhaseRow,
    PhaseSteps,
    Postmortem,
    RoleRow,
    RunInfo,
    StepOutcome,
    StepRow,
    Summary,
    TimelineRow,
    Trigger,
    TriggerItem,
)
from postmortem.validation_rows import report_rows
from runbooks.specs import INCIDENT_COMMANDER, RunbookSpec, TriggerRule
from triggers.evidence import labels_text
from triggers.selectors import alerts_of


def postmortem_data(incident: Incident, *, audience: Audience = "view") -> Postmortem:
    """Everything the postmortem says about ``incident``, for people of ``audience``.

    Viewers (the default, the safe one) get no step commands. Nothing here ever
    carries run logs, environment variables or secrets. About ten queries,
    however long the incident ran.
    """
    incident = Incident.objects.select_related(
        "runbook_version__runbook", "opened_by", "resolved_by"
    ).get(pk=incident.pk)
    now = timezone.now()
    spec = incident.runbook_version.parsed()
    roles = selectors.roles_with_holders(incident)
    holders = {role.key: [a.user.get_username() for a in role.assignments.all()] for role in roles}
    role_titles = {role.key: role.title for role in roles}
    timeline = list(
        TimelineEntry.objects.filter(incident=incident).select_related("actor").order_by("at", "pk")
    )
    phase_views = selectors.phase_views(incident)
    return Postmortem(
        generated_at=now,
        audience=audience,
        chart_path=reverse("postmortem:chart", args=[incident.pk]),
        summary=_summary(incident, spec, now),
        trigger=_trigger(incident, spec, timeline),
        roles=[
            RoleRow(
                key=role.key,
                title=role.title,
                responsibility=role.responsibility,
                holders=holders[role.key],
                former=_former_holders(incident, role.key, holders[role.key], timeline),
                handovers=_handovers(incident, timeline) if role.key == INCIDENT_COMMANDER else [],
            )
            for role in roles
        ],
        phases=[_phase_row(incident, pv, now) for pv in phase_views],
        steps=[
            PhaseSteps(
                number=pv.phase.position + 1,
                title=pv.phase.title,
                steps=[_step_row(pv, step, role_titles, audience) for step in pv.steps],
            )
            for pv in phase_views
        ],
        validations=report_rows(incident.pk),
        criteria=[
            CriterionRow(
                title=s.criterion.title,
                is_met=s.is_met,
                missing=list(s.missing),
                signoff_role=_title(role_titles, s.criterion.signoff_role) or None,
                signed_off_by=_name(s.criterion.signed_off_by),
                signed_off_at=s.criterion.signed_off_at,
                evidence=[m.evidence for m in s.metrics],
            )
            for s in criteria_status(incident)
        ],
        timeline=[
            TimelineRow(at=e.at, actor=_name(e.actor), kind=e.get_kind_display(), text=e.text)
            for e in timeline
        ],
        follow_ups=[
            FollowUpRow(
                title=f.title,
                description=f.description or f.origin,
                owner_role=_title(role_titles, f.owner_role),
                owners=holders.get(f.owner_role, []),
                assignee=_name(f.assignee),
                due_on=f.due_on,
                status=f.get_status_display(),
            )
            # The plan's and the accepted proposals: what is left to do.
            for f in FollowUp.objects.filter(
                incident=incident, proposal__in=FollowUp.WORK
            ).select_related("assignee")
        ],
        communications=communications(incident, spec, now),
        alerts=[
            AlertRow(
                alertname=a.alertname,
                status=a.status,
                trigger=a.trigger_key,
                value=a.value,
                labels=labels_text(a.labels),
                starts_at=a.starts_at,
                ended_at=a.resolved_at and (a.ends_at or a.resolved_at),
                source_url=a.source_url,
            )
            for a in alerts_of(incident)
        ],
    )


def declared_trigger_ids(incident: Incident) -> set[str]:
    """Which of the runbook's triggers this incident was declared for.

    Incidents do not record their trigger yet, so this is empty today. When an
    ``Incident.trigger`` (the trigger's id) arrives, it is read here and the
    document marks it; nothing else has to change.
    """
    trigger = getattr(incident, "trigger", "")
    return {trigger} if isinstance(trigger, str) and trigger else set()


def _summary(incident: Incident, spec: RunbookSpec, now: datetime) -> Summary:
    end = incident.resolved_at or now
    return Summary(
        incident_id=incident.pk,
        title=incident.title,
        runbook_slug=incident.runbook_version.runbook.slug,
        runbook_title=spec.title,
        runbook_version=incident.runbook_version.number,
        plan_summary=spec.summary,
        environment=incident.environment,
        severity=incident.get_severity_display(),
        is_drill=incident.is_drill,
        status=incident.get_status_display(),
        is_resolved=not incident.is_active,
        opened_at=incident.opened_at,
        opened_by=incident.opened_by.get_username(),
        resolved_at=incident.resolved_at,
        resolved_by=_name(incident.resolved_by),
        duration_seconds=(end - incident.opened_at).total_seconds(),
        override_reason=incident.resolve_override_reason,
    )


def _trigger(incident: Incident, spec: RunbookSpec, timeline: list[TimelineEntry]) -> Trigger:
    declared = declared_trigger_ids(incident)
    opened = next((e for e in timeline if e.kind == TimelineEntry.Kind.OPENED), None)
    return Trigger(
        items=[
            TriggerItem(
                id=t.id,
                description=t.description,
                rule=_rule_text(t.rule) if t.rule else "",
                is_declared=t.id in declared,
            )
            for t in spec.triggers
        ],
        opened_at=opened.at if opened else None,
        opened_by=_name(opened.actor) if opened else None,
        opened_text=opened.text if opened else "",
    )


def _rule_text(rule: TriggerRule) -> str:
    what = f"alert {rule.alertname}" if rule.source == "alertmanager" else "query"
    text = f"{rule.source} {what}"
    if rule.threshold is not None:
        text += f" {rule.comparison} {rule.threshold:g}"
    if rule.for_minutes:
        text += f" for {rule.for_minutes} min"
    return text + f" (at least {rule.min_samples} samples; no data: {rule.no_data})"


def _handovers(incident: Incident, timeline: list[TimelineEntry]) -> list[Handover]:
    """Each time the commander role changed hands, from the timeline (the opener held it first)."""
    current = [incident.opened_by.get_username()]
    handovers = []
    for entry in timeline:
        if entry.kind == TimelineEntry.Kind.ROLE_ASSIGNED and (
            entry.data.get("role") == INCIDENT_COMMANDER
        ):
            to = str(entry.data.get("user", ""))
            handovers.append(Handover(entry.at, current, to, _name(entry.actor)))
            current = [to]
    return handovers


def _former_holders(
    incident: Incident, role_key: str, now_holding: list[str], timeline: list[TimelineEntry]
) -> list[str]:
    held = [incident.opened_by.get_username()] if role_key == INCIDENT_COMMANDER else []
    held += [
        str(e.data.get("user", ""))
        for e in timeline
        if e.kind == TimelineEntry.Kind.ROLE_ASSIGNED and e.data.get("role") == role_key
    ]
    return [name for name in dict.fromkeys(held) if name and name not in now_holding]


def _phase_row(incident: Incident, view: PhaseView, now: datetime) -> PhaseRow:
    phase = view.phase
    end = phase.ended_at or (incident.resolved_at or now)
    if phase.started_at is None and not incident.is_active:
        result = ClockState.NOT_STARTED  # the incident closed before this phase began
    else:
        result = clock_state(
            planned_start=phase.planned_start_at,
            planned_end=phase.planned_end_at,
            started_at=phase.started_at,
            ended_at=phase.ended_at,
            now=end,
        )
    late_seconds = (end - phase.planned_end_at).total_seconds() if phase.started_at else 0
    return PhaseRow(
        number=phase.position + 1,
        key=phase.key,
        title=phase.title,
        planned_start=phase.planned_start_at,
        planned_end=phase.planned_end_at,
        started_at=phase.started_at,
        ended_at=phase.ended_at,
        duration_seconds=(end - phase.started_at).total_seconds() if phase.started_at else None,
        result=str(result),
        overrun_minutes=math.ceil(late_seconds / 60) if late_seconds > 0 else 0,
    )


def _step_row(
    view: PhaseView, step: Step, role_titles: dict[str, str], audience: Audience
) -> StepRow:
    run = step.latest_run
    started = view.phase.started_at
    at = step.state_changed_at if step.is_settled else None
    outcome: StepOutcome = "pending"
    if step.state == Step.State.DONE:
        outcome = "done"
    elif step.state == Step.State.SKIPPED:
        outcome = "skipped"
    command = command_summary(step.command) if audience == "act" and step.command else ""
    return StepRow(
        key=step.key,
        title=step.title,
        owner_role=_title(role_titles, step.owner_role),
        kind=step.kind,
        is_optional=step.is_optional,
        outcome=outcome,
        skip_reason=step.skip_reason,
        by=_name(step.state_changed_by) if step.is_settled else None,
        at=at,
        since_phase_start_seconds=(at - started).total_seconds() if at and started else None,
        run=None
        if run is None
        else RunInfo(
            attempts=run.attempt,
            status=run.status,
            exit_code=run.exit_code,
            started_at=run.started_at,
            finished_at=run.finished_at,
            duration_seconds=run.duration_seconds,
            requested_by=run.requested_by.get_username(),
            approved_by=_name(run.approved_by),
            summary=run.summary,
        ),
        command=command or None,
    )


def _name(user: AbstractBaseUser | None) -> str | None:
    return user.get_username() if user is not None else None


def _title(role_titles: dict[str, str], key: str) -> str:
    return role_titles.get(key, key.replace("_", " ")) if key else ""
