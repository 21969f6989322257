"""The context of each fragment of the incident page, built here and nowhere else.

A fragment is one template with one root element and a stable id: the header, a step,
a phase's head and progress bar, the chart, the roles, the criteria, the validation
results, the safeguards, a timeline entry, a run's log tail. Four places render them:
the page and its live resync (``page_context``), the htmx answers (incidents.views),
and the push (incidents.broadcast). They all take the context from the functions
here, so a fragment reads the same names, with the same meaning, wherever it is
rendered, and a new fragment is added once.

Each ``*_context`` returns only its fragment's own names; a caller joins them to
``fragment_context``, what every fragment reads. Data the page loads in bulk (steps,
phases, roles, timeline) is passed in, so the page costs a fixed number of queries
(tests/incidents/test_page_queries.py); the rest is read here, through selectors,
the same way for every caller. ``page_context`` is the union of the page's fragment
contexts, so a pushed fragment and the same fragment in the page cannot drift apart
(tests/incidents/test_panels.py).
"""

from __future__ import annotations

from datetime import datetime

from incidents import access, selectors
from incidents import now as now_header
from incidents.access import Audience
from incidents.checks.selectors import results_panel
from incidents.criteria import criteria_status
from incidents.gantt import build_chart
from incidents.gates import latest_confirmations
from incidents.models import Incident, IncidentRole, Phase, Step, TimelineEntry

Context = dict[str, object]


def fragment_context(incident: Incident, audience: Audience, now: datetime) -> Context:
    """What every fragment reads: the incident, whose controls it shows, its revision
    (``data-rev``: the browser keeps the newer of two copies), and the time of the render."""
    return {"incident": incident, "audience": audience, "rev": incident.revision, "now": now}


def titles_context(role_titles: dict[str, str], step_titles: dict[str, str]) -> Context:
    """The names a step fragment prints for its owner, its gate and the steps it requires."""
    return {"role_titles": role_titles, "step_titles": step_titles}


def stored_titles_context(incident_id: int, steps: list[Step] | None = None) -> Context:
    """``titles_context`` read from the database, for steps rendered alone: the role
    titles, and the titles of the steps that ``steps`` require (of all steps if None;
    a step fragment prints only those, so a push does not read every title)."""
    keys = None if steps is None else {key for step in steps for key in step.requires}
    return titles_context(
        selectors.role_titles(incident_id), selectors.step_titles(incident_id, keys)
    )


def header_context(progress: selectors.Progress) -> Context:
    return {"progress": progress}


def now_context(
    incident: Incident, now: datetime, roles: list[IncidentRole] | None = None
) -> Context:
    """The "now" header: phase, what runs, what is next, what blocks, the ETA (incidents/now.py).

    ``roles``: the incident's roles with their holders, if the caller read them already."""
    return {"now_view": now_header.build(incident, now, roles)}


def step_context(step: Step, error: str = "") -> Context:
    """One step (loaded by ``selectors.step_for_fragment`` or with its phase's steps)."""
    return {"step": step, "error": error}


def phase_context(
    pv: selectors.PhaseView | selectors.PhaseProgress | selectors.PagePhase,
) -> Context:
    """A phase's head or its progress bar: the phase with its step counts."""
    return {"pv": pv}


def gantt_context(incident: Incident, phases: list[Phase], now: datetime) -> Context:
    return {"chart": build_chart(incident, phases, now)}


def roles_context(
    roles: list[IncidentRole],
    audience: Audience,
    error: str = "",
    step_owners: set[str] | frozenset[str] | None = None,
) -> Context:
    """The roles with their holders; those who act also get, per role, the people the
    rules (``access.can_be_assigned``) allow on it: the product manager's role (it owns
    no step) offers viewers, the commander's only commanders, and nobody already on it.
    """
    choices: dict[str, list[object]] = {}
    if audience == "act" and roles:
        people = selectors.assignable_users()
        if step_owners is None:
            step_owners = selectors.step_owner_roles(roles[0].incident_id)
        for role in roles:
            holding = {a.user_id for a in role.assignments.all()}
            choices[role.key] = [
                person
                for person in people
                if person.pk not in holding
                and access.can_be_assigned(
                    person, role.key, role_owns_steps=role.key in step_owners
                )
            ]
    return {"roles": roles, "role_people": choices, "error": error}


def criteria_context(incident: Incident, error: str = "") -> Context:
    return {"criteria": criteria_status(incident), "error": error}


def validation_context(incident: Incident) -> Context:
    return {"panel": results_panel(incident)}


def safeguards_context(incident: Incident) -> Context:
    return {
        "safeguards": selectors.safeguards_panel(incident),
        "confirmations": latest_confirmations(incident),
    }


def phase_steps_context(steps: list[Step]) -> Context:
    """The steps of a compact (finished) phase, fetched when a person expands it."""
    return {"steps": steps}


def timeline_context(entries: list[TimelineEntry], has_older_entries: bool) -> Context:
    """The newest entries of the timeline, and whether older ones are left out."""
    return {"timeline": entries, "has_older_entries": has_older_entries}


def timeline_entry_context(entry: TimelineEntry) -> Context:
    """One entry to add to the timeline list already on the page (``data-into``)."""
    return {"entry": entry, "push": True}


def run_tail_context(run_id: int, tail: str, lines: int) -> Context:
    """The last lines of a running step's output; ``lines`` orders two copies like a revision."""
    return {"run_id": run_id, "tail": tail, "lines": lines}


def signoffs_context(incident: Incident, acc: access.IncidentAccess, error: str = "") -> Context:
    """The sign-offs this person may still give (per user: the criteria panel is shared)."""
    signable = [
        status.criterion
        for status in criteria_status(incident)
        if acc.can_sign_off(status.criterion) and status.criterion.signed_off_by_id is None
    ]
    return {"signable": signable, "error": error}


def page_context(incident: Incident, acc: access.IncidentAccess, now: datetime) -> Context:
    """The whole page (detail.html) and its live panels (live.html) for one person."""
    page = selectors.incident_page(incident)
    return (
        fragment_context(incident, acc.audience, now)
        | titles_context(page.role_titles, page.step_titles)
        | header_context(page.progress)
        | now_context(incident, now)
        | gantt_context(incident, [pv.phase for pv in page.phases], now)
        | roles_context(page.roles, acc.audience, step_owners=page.step_owners)
        | criteria_context(incident)
        | validation_context(incident)
        | safeguards_context(incident)
        | timeline_context(page.timeline, page.has_older_entries)
        | {
            "access": acc,
            "page": page,
            # "My steps" only for someone whose roles own steps (the IC alone owns none).
            "has_own_steps": acc.audience == "act" and not page.step_owners.isdisjoint(acc.roles),
        }
    )
