"""Every push of the live path: a change rendered once per audience, and a run's log tail.

Services call ``publish`` inside their transaction; nothing is sent unless the
transaction commits (no ghost updates after a rollback). On commit the change is
rendered once per audience and those bytes are sent to the audience's group, so the
cost does not grow with viewers x renders (bench/live_fanout.py measures it). The log
sink hands over a running step's tail (``push_tail``), which goes to those who act
only. The database stays the truth: pushes are hints, and a (re)connecting page
fetches its panels again (the live view, from the same contexts).

The fragments are the templates the page includes, with contexts from
``incidents.panels``, so a pushed step looks exactly like a reloaded one. Each carries
the incident revision it was rendered at (``data-rev``); the browser keeps whichever
it has that is newer.

The bytes leave through ``incidents.events``, a leaf that imports nothing from here:
services → broadcast → events, one way, so nothing needs a late import.
"""

from __future__ import annotations

import time
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from common.compiled import Compiled
from incidents import events, metrics, panels, push_loop, push_thread, selectors
from incidents.access import Audience
from incidents.events import AUDIENCES, Change
from incidents.models import Incident, TimelineEntry

Fragment = tuple[str, panels.Context]  # a template and its context


def publish(change: Change) -> None:
    """Announce ``change`` once the surrounding transaction commits."""
    published = time.perf_counter()  # its delay is measured from here (incidents.metrics)

    def send() -> None:
        # In the server, its event loop renders and sends, off this request (push_loop);
        # in a worker, a thread of its own, so a step's script starts first (push_thread).
        if settings.RIPCORD_PUSH_DEFERRED and (
            push_loop.offer(change, published, render_change)
            or push_thread.offer(change, published, render_change)
        ):
            return
        with metrics.pushing("change", since=published):
            send_change(change)

    transaction.on_commit(send, robust=True)


def send_change(change: Change) -> None:
    for audience, html in render_change(change).items():
        if html:
            events.send_html(change.incident_id, audience, html)
        if change.resync:
            events.send_frame(change.incident_id, audience, resync=True)


def push_tail(incident_id: int, run_id: int, tail: str, lines: int) -> None:
    """A running step's last output lines; logs go to the people who may act only."""
    with metrics.pushing("tail"):
        html = render_to_string(
            "incidents/_run_tail.html", panels.run_tail_context(run_id, tail, lines)
        )
        events.send_html(incident_id, "act", html)


# Fragments that read nothing of their audience: rendered once, sent to both
# (tests/incidents/test_panels.py renders each for both audiences and compares).
SAME_FOR_EVERYONE = frozenset(
    {
        "incidents/_header.html",
        "incidents/_now.html",
        "incidents/_phase_progress.html",
        "incidents/_timeline_entry.html",
    }
)


def render_change(change: Change) -> dict[Audience, str]:
    """The bytes each audience receives for ``change`` ({} if the incident is gone)."""
    done: list[tuple[str, str]] = []  # the first audience's (template, html), in order
    out: dict[Audience, str] = {}
    for audience, parts in fragments(change, timezone.now()).items():
        html = []
        for i, (template, context) in enumerate(parts):
            # Every audience gets the same fragments in the same order (``fragments``).
            if i < len(done) and done[i][0] == template and template in SAME_FOR_EVERYONE:
                html.append(done[i][1])
            else:
                html.append(render_to_string(template, context))
        if not done:
            done = list(zip((t for t, _ in parts), html, strict=True))
        out[audience] = "".join(html)
    return out


_INCIDENT = Compiled[Incident](
    lambda incident_id: (
        Incident.objects.select_related("runbook_version__runbook", "resolved_by")
        # The runbook's whole spec (JSON decoded per push: 300 steps, ~6 ms) is read
        # only if a panel needs it and RunbookVersion.parsed has not cached it yet.
        .defer("runbook_version__spec")
        .filter(pk=incident_id)[:1]
    )
)
_ENTRIES = Compiled[TimelineEntry](
    lambda entry_ids: (
        TimelineEntry.objects.filter(pk__in=entry_ids)
        .order_by("pk")  # oldest first, as they happened (a merged change has several)
        .select_related("actor")  # what an entry shows: not its step, not its data
        .defer("data")
    )
)


def fragments(change: Change, now: datetime) -> dict[Audience, list[Fragment]]:
    """The fragments ``change`` touched, per audience, in the order they are sent.

    What is read depends on the change, not on the number of viewers, and a changed
    step's phase is counted in SQL, not loaded (selectors.changed_steps).
    """
    incident = _INCIDENT.first(change.incident_id)
    if incident is None:
        return {}
    changed = selectors.changed_steps(incident.pk, change.steps) if change.steps else None
    steps = changed.steps if changed else []
    # The "now" header follows every change but a note (incidents/now.py).
    moves_now = bool(
        change.steps
        or change.phases
        or change.header
        or change.criteria
        or change.safeguards
        or change.roles
    )
    # The roles with holders, read once: the roles panel, the header's owners, step titles.
    roles = selectors.roles_with_holders(incident) if change.roles or moves_now else []
    titles: panels.Context = {}
    if changed:
        keys = {key for step, _ in steps for key in step.requires}
        titles = panels.titles_context(
            {role.key: role.title for role in roles}, selectors.step_titles(incident.pk, keys)
        )
    header: panels.Context = {}
    if changed:
        header = panels.header_context(changed.progress)
    elif change.header:
        header = panels.header_context(selectors.incident_progress(incident.pk))
    all_phases = selectors.phase_views(incident) if change.phases else []
    phase_views = [pv for pv in all_phases if pv.phase.pk in change.phases]
    phases = [pv.phase for pv in all_phases]
    gantt = panels.gantt_context(incident, phases, now) if all_phases else {}
    safeguards = panels.safeguards_context(incident) if change.safeguards else {}
    criteria = panels.criteria_context(incident) if change.criteria else {}
    validation = panels.validation_context(incident) if change.criteria else {}
    now_part = panels.now_context(incident, now, roles) if moves_now else {}
    entries = _ENTRIES(sorted(change.timeline)) if change.timeline else []

    out: dict[Audience, list[Fragment]] = {}
    for audience in AUDIENCES:
        ctx = panels.fragment_context(incident, audience, now) | titles
        parts: list[Fragment] = []
        if header:
            parts.append(("incidents/_header.html", ctx | header))
        if now_part:
            parts.append(("incidents/_now.html", ctx | now_part))
        for step, phase_progress in steps:
            parts.append(("incidents/_step.html", ctx | panels.step_context(step)))
            parts.append(
                ("incidents/_phase_progress.html", ctx | panels.phase_context(phase_progress))
            )
        for pv in phase_views:
            parts.append(("incidents/_phase_head.html", ctx | panels.phase_context(pv)))
        if gantt:
            parts.append(("incidents/_gantt.html", ctx | gantt))
        if safeguards:
            parts.append(("incidents/_safeguards.html", ctx | safeguards))
        if criteria:
            parts.append(("incidents/_criteria.html", ctx | criteria))
            parts.append(("validation/_results.html", ctx | validation))
        if change.roles:
            parts.append(("incidents/_roles.html", ctx | panels.roles_context(roles, audience)))
        parts += [
            ("incidents/_timeline_entry.html", ctx | panels.timeline_entry_context(e))
            for e in entries
        ]
        out[audience] = parts
    return out
