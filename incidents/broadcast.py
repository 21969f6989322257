"""Render a change once per audience: the bytes every socket of that audience receives.

The fragments are the same templates the pages include, so a pushed step looks
exactly like a reloaded one. Each carries the incident revision it was rendered
at (``data-rev``); the browser keeps whichever it has that is newer.
"""

from __future__ import annotations

from datetime import datetime

from django.template.loader import render_to_string
from django.utils import timezone

from incidents import selectors
from incidents.access import Audience
from incidents.checks.selectors import results_panel
from incidents.criteria import criteria_status
from incidents.events import AUDIENCES, Change
from incidents.gantt import build_chart
from incidents.models import Incident, TimelineEntry


def fragment_context(incident: Incident, audience: Audience, now: datetime) -> dict[str, object]:
    return {"incident": incident, "audience": audience, "rev": incident.revision, "now": now}


def render_change(change: Change) -> dict[Audience, str]:
    now = timezone.now()
    incident = (
        Incident.objects.select_related("runbook_version__runbook", "resolved_by")
        .filter(pk=change.incident_id)
        .first()
    )
    if incident is None:
        return {}
    roles = selectors.roles_with_holders(incident)
    role_titles = {role.key: role.title for role in roles}
    steps = selectors.steps_with_phase_progress(incident.pk, change.steps) if change.steps else []
    entries = (
        list(TimelineEntry.objects.filter(pk__in=change.timeline).select_related("actor", "step"))
        if change.timeline
        else []
    )
    titles = selectors.step_titles(incident.pk) if change.steps else {}
    with_header = change.header or bool(change.steps)
    progress = selectors.incident_progress(incident.pk) if with_header else None
    people = selectors.assignable_users() if change.roles else []
    all_phases = selectors.phase_views(incident) if change.phases else []
    phase_views = [pv for pv in all_phases if pv.phase.pk in change.phases]
    chart = build_chart(incident, [pv.phase for pv in all_phases], now) if all_phases else None
    criteria = criteria_status(incident) if change.criteria else []
    validation = results_panel(incident) if change.criteria else None
    safeguards = selectors.safeguards_panel(incident) if change.safeguards else []

    out: dict[Audience, str] = {}
    for audience in AUDIENCES:
        ctx = fragment_context(incident, audience, now) | {
            "role_titles": role_titles,
            "step_titles": titles,
        }
        parts: list[str] = []
        if with_header:
            parts.append(render_to_string("incidents/_header.html", ctx | {"progress": progress}))
        for step, phase_progress in steps:
            parts.append(render_to_string("incidents/_step.html", ctx | {"step": step}))
            parts.append(
                render_to_string("incidents/_phase_progress.html", ctx | {"pv": phase_progress})
            )
        for pv in phase_views:
            parts.append(render_to_string("incidents/_phase_head.html", ctx | {"pv": pv}))
        if chart is not None:
            parts.append(render_to_string("incidents/_gantt.html", ctx | {"chart": chart}))
        if change.safeguards:
            parts.append(
                render_to_string("incidents/_safeguards.html", ctx | {"safeguards": safeguards})
            )
        if change.criteria:
            parts.append(render_to_string("incidents/_criteria.html", ctx | {"criteria": criteria}))
            parts.append(render_to_string("validation/_results.html", ctx | {"panel": validation}))
        if change.roles:
            parts.append(
                render_to_string("incidents/_roles.html", ctx | {"roles": roles, "people": people})
            )
        parts += [
            render_to_string("incidents/_timeline_entry.html", ctx | {"entry": e, "push": True})
            for e in entries
        ]
        out[audience] = "".join(parts)
    return out
