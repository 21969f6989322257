"""The communications fragments on the incident page, and their live pushes.

Three fragments, each with a stable id and the incident revision (``data-rev``) as
every panel of the page (static/js/live.js): the audiences' clocks and overdue
banners, the drafts, and what was sent with each delivery's state. They are the same
for every reader; the controls and banners name the role they are for, and a small
per-user style (``comms_style``) shows each person their own. The drafts are pushed
only after a send, so a push never wipes text someone is editing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from comms import cadence, drafts
from comms.models import Send
from incidents import events
from incidents.access import IncidentAccess
from incidents.models import Incident, RoleAssignment

Context = dict[str, Any]
FRAGMENTS = {
    "clocks": "comms/_clocks.html",
    "drafts": "comms/_drafts.html",
    "sends": "comms/_sends.html",
}
SENDS_SHOWN = 20


def panel_context(
    incident: Incident, now: datetime, parts: frozenset[str] | None = None
) -> Context:
    spec = incident.runbook_version.parsed()
    parts = frozenset(FRAGMENTS) if parts is None else parts
    context: Context = {
        "incident": incident,
        "rev": incident.revision,
        "now": now,
        "has_comms": bool(spec.communications),
        "talking_points": bool(spec.talking_points),
    }
    clocks = cadence.clocks(incident, spec, now)
    context["clocks"] = clocks
    if "drafts" in parts:
        # Roles nobody holds: the IC may send their items (IncidentAccess.can_send_communication).
        held = set(
            RoleAssignment.objects.filter(incident=incident).values_list("role__key", flat=True)
        )
        context["unheld"] = {item.owner for item in spec.communications} - held
        state = drafts.live_state(incident, spec, now)
        current = state.current.key if state.current else ""
        context["drafts"] = (
            [d for d in drafts.drafts(state, clocks) if not d.phase_key or d.phase_key == current]
            if incident.is_active
            else []
        )
    if "sends" in parts:
        context["sends"] = list(
            Send.objects.filter(incident=incident)
            .select_related("sent_by")
            .prefetch_related("deliveries")[:SENDS_SHOWN]
        )
    return context


def render_parts(incident: Incident, parts: frozenset[str], now: datetime) -> str:
    context = panel_context(incident, now, parts)
    return "".join(
        render_to_string(FRAGMENTS[part], context) for part in FRAGMENTS if part in parts
    )


def push(incident_id: int, *parts: str) -> None:
    """Send the fragments named (all if none) to everyone on the incident page, on commit."""
    wanted = frozenset(parts or FRAGMENTS)

    def send() -> None:
        incident = Incident.objects.select_related("runbook_version").filter(pk=incident_id).first()
        if incident is None:
            return
        html = render_parts(incident, wanted, timezone.now())
        for audience in events.AUDIENCES:
            events.send_html(incident_id, audience, html)

    transaction.on_commit(send, robust=True)


def style_block(access: IncidentAccess | None) -> SafeString:
    """The reader's own controls and banners: those of the roles they hold (and the IC's)."""
    roles = set(access.roles) if access is not None else set()
    if access is not None and access.is_commander:
        roles.add("incident_commander")
    rules = "".join(
        f".comms-only.for-{role}{{display:revert}}"
        for role in sorted(roles)
        if role.replace("_", "").replace("-", "").isalnum()
    )
    return mark_safe(f'<style id="comms-style">.comms-only{{display:none}}{rules}</style>')
