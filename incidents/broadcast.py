"""Render a change once per audience: the bytes every socket of that audience receives.

The fragments are the same templates the pages include, so a pushed step looks
exactly like a reloaded one. Each carries the incident revision it was rendered
at (``data-rev``); the browser keeps whichever it has that is newer.
"""

from __future__ import annotations

from django.template.loader import render_to_string

from incidents import selectors
from incidents.access import Audience
from incidents.events import AUDIENCES, Change
from incidents.models import Incident, TimelineEntry


def fragment_context(incident: Incident, audience: Audience) -> dict[str, object]:
    return {"incident": incident, "audience": audience, "rev": incident.revision}


def render_change(change: Change) -> dict[Audience, str]:
    incident = (
        Incident.objects.select_related("runbook_version__runbook")
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

    out: dict[Audience, str] = {}
    for audience in AUDIENCES:
        ctx = fragment_context(incident, audience) | {
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
